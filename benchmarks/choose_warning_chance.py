"""Choose an area's warning chances: a grid search on its validation period.

Run: ``python benchmarks/choose_warning_chance.py [--area demo] [--root .] [--model VERSION]``
(on demand; the area needs a trained model). Results go to
``benchmarks/results/warning_chance.md`` (also printed).

A cell is at level L (1 yellow, 2 orange, 3 red) when its impact
(:func:`wetindex.normal.impact_weight`) reaches ``thresholds[L-1]`` and its excess
probability reaches ``chance[L-1]``; a place is at level L in an hour when at least
1 ha (``k`` cells) of it is at L or above (:func:`wetindex.model.event_replay.replay_place_levels`).
The chances are what this script chooses:

1. The model's validation period (one issue every ``--validation-step-h``, 48 h) and
   its hold-out (every ``--holdout-step-h``, 24 h) are replayed once each, as the
   forecast runs would compute them (:func:`wetindex.model.event_replay.replay_issues`), on
   every candidate cell of the screen (``--max-cells`` samples them, as the model
   card's event scores do). For each issue × place × lead, the cells are split by the
   highest level their impact allows (impact class 1–3) and, per class, counted at
   every chance the search tries (excess ≥ chance). From those counts a place's level
   follows exactly for any chances of the grid: a cell of class ``c`` is at level ``L``
   or above when its excess reaches the smallest chance of the levels ``L … c``.
2. The truth is the product's (:func:`wetindex.model.events.observed_events`: new water
   on exposed, normally dry land, its severity and its cause), scored with
   :func:`wetindex.model.events.verify_events`.
3. Criterion, on validation only: at least 90 % of quiet issue times without any
   warning, FAR at most 0.3 at orange and 0.2 at red; among those, the highest orange
   POD, then the highest red POD; then yellow: the highest yellow POD with FAR at most
   0.3, or, when no yellow chance reaches that, the lowest yellow FAR; then fewer false
   alarms, then the smaller chances.
4. Reported for the chosen chances and the area's configured ones, on validation and
   hold-out: quiet issue times without any warning and without orange or red, POD,
   FAR, median lead and median onset error per level, and orange POD per cause.
5. Cross-check: the hold-out is replayed a second time through the product's own
   path (:func:`~wetindex.model.event_replay.replay_place_levels` with ``chance=`` the chosen
   chances); its place levels must equal the grid's at every issue, place, lead and
   level, so its orange POD and FAR are the grid's. The script fails when they differ.

For comparison the same criterion is also applied under the rule of the first, ad-hoc
analysis (a place at level L when the k-th largest excess among its cells whose impact
reaches ``thresholds[L-1]`` reaches ``chance[L-1]``, level by level): it differs from the
product's rule when a lower level's chance is above a higher one's (a cell at orange
with an excess below the yellow chance counts for "yellow or above" in the product, not
in that rule).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wetindex.model import event_replay as R  # noqa: E402
from wetindex.model import events as E  # noqa: E402
from wetindex.normal import impact_weight  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
LEVELS = ("yellow", "orange", "red")
GRID: dict[str, tuple[float, ...]] = {
    "yellow": (0.2, 0.25, 0.3, 0.4),
    "orange": (0.1, 0.15, 0.2, 0.25),
    "red": (0.1, 0.15, 0.2, 0.3, 0.4),
}
MIN_QUIET = 0.9
MAX_FAR = {"yellow": 0.3, "orange": 0.3, "red": 0.2}


@dataclass
class Replay:
    """One replayed period: its issues, the cells' counts and the truth."""

    name: str
    issues: pd.DatetimeIndex
    #: ``(issue, place, lead, impact class 1–3, chance)``: cells whose excess reaches the chance
    counts: np.ndarray
    #: the chances the counts are taken at (float32, sorted)
    values: np.ndarray
    #: highest forecast sea level [m] of each issue's 48 h
    sea_max: np.ndarray
    truth: E.ObservedEvents


def impact_class(impact: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """The highest level (0–3) each cell's ``impact`` allows, compared in float32 as
    :func:`wetindex.normal.warning_score` does."""
    out = np.zeros(np.shape(impact), "int8")
    for level, t in enumerate(thresholds, start=1):
        out[np.asarray(impact, "float32") >= np.float32(t)] = level
    return out


def count_cells(excess: np.ndarray, klass: np.ndarray, place_of: np.ndarray, n_places: int,
                values: np.ndarray) -> np.ndarray:
    """``(place, lead, class 1–3, value)``: cells of the place and impact class whose
    ``excess`` ``(lead, cell)`` reaches each of ``values``."""
    out = np.zeros((n_places, excess.shape[0], 3, len(values)), "int32")
    for pi in range(n_places):
        for c in (1, 2, 3):
            sub = excess[:, (place_of == pi) & (klass == c)]
            if sub.shape[1] == 0:
                continue
            for j, v in enumerate(values):
                out[pi, :, c - 1, j] = (sub >= v).sum(axis=1)
    return out


def _at(values: np.ndarray, chance: float) -> int:
    hit = np.flatnonzero(values == np.float32(chance))
    if hit.size == 0:
        raise ValueError(f"the counts hold no chance {chance}")
    return int(hit[0])


def place_levels(counts: np.ndarray, values: np.ndarray, chance: Sequence[float],
                 min_cells: np.ndarray, *, rule: str = "product") -> np.ndarray:
    """Each place's level ``(issue, place, lead)`` under ``chance`` from the counts.

    ``rule="product"``: at level L when at least ``min_cells`` of the place's cells
    are at L or above (a cell of class ``c ≥ L`` is when its excess reaches
    ``min(chance[L-1:c])``), as :func:`wetindex.model.event_replay.replay_place_levels`.
    ``rule="kth"``: at the highest L whose own set (impact reaching ``thresholds[L-1]``
    and excess ``chance[L-1]``) holds ``min_cells`` cells, as the ad-hoc analysis did.
    """
    k = np.asarray(min_cells)[None, :, None]
    out = np.zeros(counts.shape[:3], "int8")
    for level in (1, 2, 3):
        n = np.zeros(counts.shape[:3], "int64")
        for c in range(level, 4):
            q = min(chance[level - 1:c]) if rule == "product" else chance[level - 1]
            n += counts[..., c - 1, _at(values, q)]
        out[n >= k] = level
    return out


def replay_period(name: str, model, inputs, static, rc: R.ReplayCells,
                  period: tuple[pd.Timestamp, pd.Timestamp], step_h: int, *,
                  train: tuple[pd.Timestamp, pd.Timestamp], thresholds: Sequence[float],
                  chance: Sequence[float], values: np.ndarray, max_lead_h: int) -> Replay:
    """Replay ``period`` once (every ``step_h``) and keep the counts and the truth."""
    issues = R.replay_issue_times(inputs, period, step_h)
    n_places = len(rc.min_cells)
    counts = np.zeros((len(issues), n_places, max_lead_h, 3, len(values)), "int32")
    sea_max = np.zeros(len(issues))
    t0 = time.perf_counter()
    replay = R.replay_issues(model.booster, inputs, static, issues, rc.cells, normal=rc.normal,
                             exposure=rc.exposure, permanent=rc.permanent,
                             thresholds=thresholds,
                             calibration=model.metadata.get("calibration"),
                             max_lead_h=max_lead_h, chance=chance)
    for i, (excess, _, sea) in enumerate(replay):
        month = (issues[i] + pd.Timedelta(hours=24)).month  # as excess_arrays' normal
        klass = impact_class(impact_weight(rc.normal[month - 1], rc.exposure), thresholds)
        counts[i] = count_cells(excess, klass, rc.place_of, n_places, values)
        sea_max[i] = sea
        if (i + 1) % 20 == 0 or i + 1 == len(issues):
            print(f"  {name}: {i + 1}/{len(issues)} issues, {time.perf_counter() - t0:.0f} s",
                  flush=True)
    truth = E.observed_events(inputs, static, rc, issues, train=train, thresholds=thresholds,
                              max_lead_h=max_lead_h)
    return Replay(name, issues, counts, values, sea_max, truth)


def verify(rep: Replay, levels: np.ndarray, max_lead_h: int) -> dict[str, Any]:
    """:func:`wetindex.model.events.verify_events` of ``levels`` against the truth."""
    t = rep.truth
    return E.verify_events(t.events, levels, rep.issues, t.names, t.flood_hours,
                           max_lead_h=max_lead_h, warning_causes=t.warning_causes(rep.sea_max),
                           labelled=t.labelled)


def _nz(x: float, default: float) -> float:
    return default if x is None or np.isnan(x) else float(x)


def violations(v: dict[str, Any]) -> list[str]:
    """The criterion's limits a point breaks (no warnings at a level: no false ones)."""
    lv = v["levels"]
    out = []
    quiet = _nz(v["quiet_without_warning"], 1.0)
    if quiet < MIN_QUIET:
        out.append(f"quiet without warning {quiet:.3f} < {MIN_QUIET}")
    for name in ("orange", "red"):
        far = _nz(lv[name]["far"], 0.0)
        if far > MAX_FAR[name]:
            out.append(f"{name} FAR {far:.3f} > {MAX_FAR[name]}")
    return out


def feasible(v: dict[str, Any]) -> bool:
    """Whether a point meets the criterion's limits."""
    return not violations(v)


def preference(v: dict[str, Any], chance: Sequence[float]) -> tuple:
    """Sort key, larger is better: orange POD, red POD, yellow, fewer false alarms,
    more quiet issue times, smaller chances."""
    lv = v["levels"]
    y_far = _nz(lv["yellow"]["far"], 0.0)
    y_ok = y_far <= MAX_FAR["yellow"]
    return (round(_nz(lv["orange"]["pod"], 0.0), 9), round(_nz(lv["red"]["pod"], 0.0), 9),
            y_ok, round(_nz(lv["yellow"]["pod"], 0.0), 9) if y_ok else -y_far,
            -_nz(lv["orange"]["far"], 0.0), -_nz(lv["red"]["far"], 0.0),
            _nz(v["quiet_without_warning"], 1.0), tuple(-q for q in chance))


def grid_search(rep: Replay, min_cells: np.ndarray, max_lead_h: int, rule: str,
                ) -> tuple[tuple[float, ...], bool, list[tuple[tuple[float, ...], dict]]]:
    """Every grid point's validation scores; the chosen point and whether it meets the limits."""
    rows = []
    for chance in itertools.product(*(GRID[n] for n in LEVELS)):
        levels = place_levels(rep.counts, rep.values, chance, min_cells, rule=rule)
        rows.append((chance, verify(rep, levels, max_lead_h)))
    ok = [(c, v) for c, v in rows if feasible(v)]
    pool = ok or rows
    best = max(pool, key=lambda cv: preference(cv[1], cv[0]))[0]
    return best, bool(ok), rows


def summary(rep: Replay, levels: np.ndarray, max_lead_h: int) -> dict[str, Any]:
    """The reported figures of one period under one set of place levels."""
    v = verify(rep, levels, max_lead_h)
    orange_up = verify(rep, np.where(levels >= 2, levels, 0).astype("int8"), max_lead_h)
    out: dict[str, Any] = {"issues": len(rep.issues), "quiet": v["quiet_issues"],
                           "quiet_none": v["quiet_without_warning"],
                           "quiet_no_orange": orange_up["quiet_without_warning"]}
    for name in LEVELS:
        lv = v["levels"][name]
        out[name] = {k: lv[k] for k in ("n_events", "pod", "n_warnings", "far",
                                        "median_lead_h", "median_onset_error_h")}
    out["orange_by_cause"] = {c: (d["n_events"], d["pod"])
                              for c, d in v["levels"]["orange"]["by_cause"].items()}
    return out


def _f(x: float | None, fmt: str = ".2f") -> str:
    return "–" if x is None or (isinstance(x, float) and np.isnan(x)) else format(x, fmt)


def table(rows: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    """Markdown rows: one per chances × period."""
    head = ("| chances (Y/O/R) | period | issues (quiet) | quiet: no warning | "
            "quiet: no orange+ | yellow | orange | red | orange POD by cause |")
    lines = [head, "|" + " --- |" * 9]
    for label, period, s in rows:
        cells = []
        for name in LEVELS:
            lv = s[name]
            cells.append(f"POD {_f(lv['pod'])} ({lv['n_events']}) · FAR {_f(lv['far'])} "
                         f"({lv['n_warnings']}) · lead {_f(lv['median_lead_h'], '.0f')} h · "
                         f"onset {_f(lv['median_onset_error_h'], '+.0f')} h")
        cause = "; ".join(f"{c} {_f(p)} ({n})"
                          for c, (n, p) in sorted(s["orange_by_cause"].items()))
        lines.append(f"| {label} | {period} | {s['issues']} ({s['quiet']}) | "
                     f"{_f(s['quiet_none'])} | {_f(s['quiet_no_orange'])} | "
                     + " | ".join(cells) + f" | {cause or '–'} |")
    return lines


def ranking(rows: list[tuple[tuple[float, ...], dict]], top: int) -> list[str]:
    """Markdown rows: the ``top`` grid points meeting the limits, best first (validation)."""
    ok = sorted(((c, v) for c, v in rows if feasible(v)),
                key=lambda cv: preference(cv[1], cv[0]), reverse=True)
    lines = [f"{len(ok)} of {len(rows)} grid points meet the limits on validation; the best "
             f"{min(top, len(ok))}:", "",
             "| chances (Y/O/R) | quiet: no warning | yellow POD / FAR | orange POD / FAR | "
             "red POD / FAR |", "|" + " --- |" * 5]
    for c, v in ok[:top]:
        lv = v["levels"]
        lines.append(f"| {'/'.join(f'{q:g}' for q in c)} | {_f(v['quiet_without_warning'])} | "
                     + " | ".join(f"{_f(lv[n]['pod'])} / {_f(lv[n]['far'])}" for n in LEVELS)
                     + " |")
    return lines


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--area", default="demo")
    ap.add_argument("--root", type=Path, default=Path.cwd(), help="project folder")
    ap.add_argument("--model", default=None, help="model version (default: LATEST)")
    ap.add_argument("--validation-step-h", type=int, default=48)
    ap.add_argument("--holdout-step-h", type=int, default=24)
    ap.add_argument("--max-cells", type=int, default=None,
                    help="replay a random sample of this many candidate cells (default: all)")
    ap.add_argument("--top", type=int, default=8, help="grid points listed (validation)")
    ap.add_argument("--out", type=Path, default=RESULTS / "warning_chance.md")
    args = ap.parse_args(argv)

    from wetindex.commands.model import area_context, trained_context
    from wetindex.model.artifacts import load_model
    from wetindex.stages.inputs import area_inputs
    from wetindex.stages.static import build_static

    t_start = time.perf_counter()
    load_before = _load()
    ctx = area_context(args.area, args.root.resolve())
    model = load_model(ctx.models_root, ctx.config.name, args.model)
    ctx = trained_context(ctx, model)
    inputs = area_inputs(ctx)
    static = build_static(ctx, inputs)
    meta = model.metadata
    periods = {k: (pd.Timestamp(v[0]), pd.Timestamp(v[1])) for k, v in meta["periods"].items()}
    thresholds = ctx.config.thresholds.as_list()
    configured = tuple(ctx.config.warning_chance.as_list())
    max_lead_h = ctx.config.forecast.max_lead_h
    values = np.unique(np.float32([*itertools.chain(*GRID.values()), *configured]))
    rc = R.replay_cells(inputs, static, screen=meta["screen"], train=periods["train"],
                        max_cells=args.max_cells)
    print(f"{args.area}: model {model.version}, {len(rc.cells):,} of {rc.n_candidates:,} "
          f"candidate cells, {len(rc.min_cells)} places", flush=True)
    common = {"train": periods["train"], "thresholds": thresholds, "chance": configured,
              "values": values, "max_lead_h": max_lead_h}
    val = replay_period("validation", model, inputs, static, rc, periods["validation"],
                        args.validation_step_h, **common)
    hold = replay_period("holdout", model, inputs, static, rc, periods["holdout"],
                         args.holdout_step_h, **common)

    chosen, chosen_ok, grid_rows = grid_search(val, rc.min_cells, max_lead_h, "product")
    adhoc, adhoc_ok, _ = grid_search(val, rc.min_cells, max_lead_h, "kth")

    def lab(chance: Sequence[float]) -> str:
        return "/".join(f"{q:g}" for q in chance)

    rows = []
    for label, chance, rule in ((f"**{lab(chosen)}** (chosen)", chosen, "product"),
                                (f"{lab(configured)} (configured)", configured, "product"),
                                (f"{lab(adhoc)} (ad-hoc rule's choice, its rule)", adhoc, "kth")):
        for rep in (val, hold):
            levels = place_levels(rep.counts, rep.values, chance, rc.min_cells, rule=rule)
            rows.append((label, rep.name, summary(rep, levels, max_lead_h)))

    # cross-check: the product's own replay of the hold-out with the chosen chances
    t_check = time.perf_counter()
    product = R.replay_place_levels(
        model.booster, inputs, static, hold.issues, rc.cells, rc.place_of, len(rc.min_cells),
        normal=rc.normal, exposure=rc.exposure, permanent=rc.permanent, thresholds=thresholds,
        calibration=meta.get("calibration"), min_cells=rc.min_cells, max_lead_h=max_lead_h,
        chance=chosen)
    check_s = time.perf_counter() - t_check
    grid_levels = place_levels(hold.counts, hold.values, chosen, rc.min_cells)
    mismatch = {name: int(((product >= lv) != (grid_levels >= lv)).sum())
                for lv, name in enumerate(LEVELS, start=1)}
    v_prod, v_grid = verify(hold, product, max_lead_h), verify(hold, grid_levels, max_lead_h)
    o_prod, o_grid = v_prod["levels"]["orange"], v_grid["levels"]["orange"]
    same = (not any(mismatch.values()) and o_prod["pod"] == o_grid["pod"]
            and o_prod["far"] == o_grid["far"])

    run_s = time.perf_counter() - t_start
    lines = [
        "# Warning chances: grid search on the validation period",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, area `{args.area}`, model "
        f"`{model.version}`, run time {run_s / 60:.1f} min (of which the cross-check's "
        f"replay {check_s / 60:.1f} min); load average before / after: {load_before} / "
        f"{_load()} (2 cores shared with other work). "
        "`python benchmarks/choose_warning_chance.py "
        f"{' '.join(sys.argv[1:] if argv is None else argv)}`.",
        "",
        f"Replayed on {len(rc.cells):,} of {rc.n_candidates:,} candidate cells; a place is "
        f"at a level when ≥ 1 ha of it is ({int(rc.min_cells.min())}–"
        f"{int(rc.min_cells.max())} cells). Thresholds (impact) "
        f"{'/'.join(f'{t:g}' for t in thresholds)}. Validation "
        f"{periods['validation'][0]:%Y-%m-%d} – {periods['validation'][1]:%Y-%m-%d}, an issue "
        f"every {args.validation_step_h} h ({len(val.issues)}); hold-out "
        f"{periods['holdout'][0]:%Y-%m-%d} – {periods['holdout'][1]:%Y-%m-%d}, every "
        f"{args.holdout_step_h} h ({len(hold.issues)}).",
        "",
        "Grid: " + "; ".join(f"{n} {{{', '.join(f'{q:g}' for q in GRID[n])}}}" for n in LEVELS)
        + f". Criterion on validation: ≥ {MIN_QUIET:.0%} of quiet issue times without any "
        f"warning, FAR ≤ {MAX_FAR['orange']} at orange and ≤ {MAX_FAR['red']} at red; then "
        "highest orange POD, then red POD; then the highest yellow POD with FAR ≤ "
        f"{MAX_FAR['yellow']}, else the lowest yellow FAR."
        + ("" if chosen_ok else " **No grid point meets the limits**: the best by the "
           "order above is shown."),
        "",
        "Per level: POD (events) · FAR (warnings) · median lead · median onset error "
        "(forecast − observed).",
        "",
        *table(rows),
        "",
        f"The configured chances {lab(configured)} on validation: "
        + ("; ".join(violations(verify(val, place_levels(
            val.counts, val.values, configured, rc.min_cells), max_lead_h)))
           or "meet the limits") + ".",
        "",
        *ranking(grid_rows, args.top),
        "",
        f"Cross-check (hold-out, chances {lab(chosen)}): "
        f"`event_replay.replay_place_levels` gives orange POD {_f(o_prod['pod'], '.3f')} / FAR "
        f"{_f(o_prod['far'], '.3f')}, the grid {_f(o_grid['pod'], '.3f')} / "
        f"{_f(o_grid['far'], '.3f')}; issue × place × lead hours where the levels differ: "
        + ", ".join(f"{n} {m}" for n, m in mismatch.items())
        + (" — **identical**." if same else " — **they differ**."),
        "",
        f"The ad-hoc rule (k-th largest excess among cells with impact ≥ t_L, level by "
        f"level) chooses {lab(adhoc)}"
        + ("" if adhoc_ok else " (no point meets the limits)")
        + "; it counts a cell for \"yellow or above\" only when its excess reaches the "
        "yellow chance, where the product counts every cell at orange or red too, so its "
        "yellow (and, when the red chance is below the orange one, its orange) differ "
        "from the product's.",
        "",
    ]
    text = "\n".join(lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    if not same:
        raise AssertionError(f"grid and product differ on the hold-out: {mismatch}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
