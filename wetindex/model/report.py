"""The verification report: Markdown + HTML with reliability diagrams, next to the model.

Written to ``models/<area>/<version>/evaluation/`` (built under a temporary name
and switched in): ``evaluation.md``, ``evaluation.html``, ``reliability_<bin>.png``
per lead bin and ``scorecard.json`` (the summary the citizen site's About page shows).
"""

from __future__ import annotations

import html
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

from wetindex.model.label_times import case_lines

#: Rows of the headline tables, in this order when present.
METHODS: tuple[str, ...] = ("model", "model_raw", "model_observed_drivers", "never_wet",
                            "climatology", "climatology_month", "issue_time_baseline",
                            "persistence", "rain_rule", "bathtub", "best_baseline", "nowcast")
BASELINES: tuple[str, ...] = ("climatology", "climatology_month", "persistence", "rain_rule",
                              "bathtub", "best_baseline")
#: The references a forecaster accepts (probabilistic); the yes/no rules are extras.
REFERENCES: tuple[str, ...] = ("never_wet", "climatology_month", "issue_time_baseline")
REFERENCE_TITLES: dict[str, str] = {
    "never_wet": "“never wet”",
    "climatology_month": "same-month climatology per cell",
    "issue_time_baseline": "LightGBM on terrain and drivers observed at the issue time",
}
#: Metrics the site's About page shows.
SITE_METRICS: tuple[str, ...] = ("brier_skill", "bss_never_wet", "bss_climatology_month",
                                 "bss_issue_time_baseline", "roc_auc", "csi_orange")
SITE_METHODS: tuple[str, ...] = ("model", "issue_time_baseline", "model_observed_drivers",
                                 "best_baseline", "nowcast", "persistence", "climatology_month")


def _fmt(v: Any) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def verdict(ev: dict[str, Any]) -> dict[str, Any]:
    """The done-when questions, answered from the scores.

    ``beats_baselines_bss``: the model's BSS is above every baseline's in every
    bin; ``beats_baselines_csi_orange``: likewise for CSI at orange (a NaN
    baseline CSI counts as beaten); ``last_bin_at_least_nowcast``: the model's
    BSS in the last lead bin is at least the nowcast's on the same rows.
    """
    s = ev["scores"]
    model = s["model"]
    present = [b for b in BASELINES if b in s and b != "climatology"]

    def beats(metric: str, b: str) -> bool:
        return all((not math.isnan(m)) and (math.isnan(o) or m > o)
                   for m, o in zip(model[metric], s[b][metric], strict=True))

    out = {"beats_climatology_bss": all(v > 0 for v in model["brier_skill"])}
    refs = [r for r in REFERENCES if f"bss_{r}" in model]
    out["beats_references_bss"] = {r: all((not math.isnan(v)) and v > 0
                                           for v in model[f"bss_{r}"]) for r in refs}
    out["last_bin_above_every_reference"] = bool(refs) and all(
        (not math.isnan(model[f"bss_{r}"][-1])) and model[f"bss_{r}"][-1] > 0 for r in refs)
    out["beats_baselines_bss"] = out["beats_climatology_bss"] and all(
        beats("brier_skill", b) for b in present)
    out["beats_baselines_csi_orange"] = all(beats("csi_orange", b) for b in present)
    if "nowcast" in s:
        out["last_bin_model_bss"] = model["brier_skill"][-1]
        out["last_bin_nowcast_bss"] = s["nowcast"]["brier_skill"][-1]
        out["last_bin_at_least_nowcast"] = bool(
            model["brier_skill"][-1] >= s["nowcast"]["brier_skill"][-1])
    return out


def site_scorecard(ev: dict[str, Any], model_version: str, evaluated_at: str) -> dict[str, Any]:
    """The compact scorecard for ``build_site(scorecard=...)``."""
    scores = {m: {k: ev["scores"][m][k] for k in SITE_METRICS if k in ev["scores"][m]}
              for m in SITE_METHODS if m in ev["scores"]}
    model = ev["scores"].get("model", {})
    came_true = {lv: {"came_true": model.get(f"came_true_{lv}"), "cases": model.get(f"cases_{lv}")}
                 for lv in ("yellow", "orange", "red") if f"came_true_{lv}" in model}
    return {"model_version": model_version, "evaluated_at": evaluated_at,
            "lead_bins": ev["lead_bins"], "scores": scores,
            "calibration_applied": bool(ev.get("calibration_applied", ev.get("calibrated"))),
            "levels_came_true": came_true, "events": event_summary(ev.get("events")),
            "method_note": {"en": " ".join(plain_truth_sentences(ev)),
                            "da": " ".join(plain_truth_sentences(ev, "da"))}}


def _level_share(model: dict[str, Any], lv: str) -> tuple[float, int] | None:
    cases = model.get(f"cases_{lv}")
    if not cases or not sum(cases):
        return None
    hits = sum(f * c for f, c in zip(model[f"came_true_{lv}"], cases, strict=True) if c)
    return hits / sum(cases), int(sum(cases))


def probability_band(ev: dict[str, Any], lv: str) -> str:
    """The probability band of a level's cell-hour scores, e.g. ``"20–40 %"``.

    The bands are cut at the levels' thresholds; a cell's warning level itself also
    asks for the impact there (:func:`wetindex.normal.warning_score`), so the bands are
    named by their probabilities, not as levels.
    """
    t = ev.get("thresholds") or {}
    names = ["yellow", "orange", "red"]
    lo = t.get(lv)
    hi = t.get(names[names.index(lv) + 1]) if lv != "red" else None
    if lo is None:
        return lv
    return f"{lo:.0%}–{hi:.0%}" if hi is not None else f"{lo:.0%} or more"


def plain_truth_sentences(ev: dict[str, Any], lang: str = "en") -> list[str]:
    """Whether the probabilities are calibrated and how often they came true, in words.

    For the site's About page and the model card: the cell-hour share of each
    probability band (cut at the levels' thresholds) that was wet, and the share of the
    places' warnings (issue × place) that met a flood (1 − FAR of the event verification).
    """
    model = ev.get("scores", {}).get("model", {})
    calibrated = bool(ev.get("calibration_applied", ev.get("calibrated")))
    da = lang == "da"
    out = [("Sandsynlighederne er kalibreret på uafhængige data." if calibrated else
            "Sandsynlighederne er ikke kalibreret: modellens egne tal vises, så læs dem som "
            "et mål for risiko, ikke som en nøjagtig chance.") if da else
           ("The probabilities are calibrated on independent data." if calibrated else
            "The probabilities are not calibrated: they are the model's own numbers, so read "
            "them as a measure of risk, not as an exact chance.")]
    for lv in ("yellow", "orange", "red"):
        share = _level_share(model, lv)
        if share is None:
            continue
        band = probability_band(ev, lv)
        cases = f"{share[1]:,}".replace(",", ".")  # Danish thousands separator
        out.append(f"Når modellen gav en celle {band.replace('or more', 'eller mere')}, "
                   f"stod der vand i {share[0]:.0%} af {cases} tilfælde i testperioden."
                   if da else
                   f"When the model gave a cell {band}, it was under water in "
                   f"{share[0]:.0%} of {share[1]:,} cases in the test period.")
    events = ev.get("events") or {}
    for lv, d in events.get("levels", {}).items():
        if d.get("n_warnings"):
            came = 1.0 - d["false_warnings"] / d["n_warnings"]
            name = {"yellow": "gule", "orange": "orange", "red": "røde"}[lv] if da else lv
            out.append(f"Af {d['n_warnings']} {name} varsler for et sted blev {came:.0%} "
                       "fulgt af en oversvømmelse der." if da else
                       f"Of {d['n_warnings']} {name} warnings for a place, {came:.0%} were "
                       "followed by a flood there.")
    return out


def cause_lines(events: dict[str, Any] | None) -> list[str]:
    """Markdown: event scores per level and cause (sea / rain)."""
    if not events:
        return []
    lines = ["", "### Events per cause", "",
             "Cause of an event: `sea` when the observed sea reached the place's lowest flood "
             "level in the day before the onset, else `rain`; of a warning: `sea` when the "
             "forecast sea reaches the place within 48 h.", "",
             "| level | cause | events | warned | POD | warnings | false | FAR | median lead h "
             "| median onset error h |", "|---|---|---|---|---|---|---|---|---|---|"]
    for lv, d in events["levels"].items():
        for cause, c in d.get("by_cause", {}).items():
            lines.append(f"| {lv} | {cause} | {c['n_events']} | {c['hits']} | {_fmt(c['pod'])} "
                         f"| {c['n_warnings']} | {c['false_warnings']} | {_fmt(c['far'])} | "
                         f"{_fmt(c['median_lead_h'])} | {_fmt(c['median_onset_error_h'])} |")
    return lines


def case_study_lines(events: dict[str, Any] | None, pngs: dict[str, str] | None = None
                     ) -> list[str]:
    """Markdown: one table per storm of the hold-out, issue by issue."""
    cases = (events or {}).get("case_studies")
    if not cases:
        return []
    lines = ["", "## Case studies: the hold-out's storms", "",
             "Per storm, the most flooded place; per issue time up to the storm's end: the "
             "highest level and warning score (the risk matrix of chance and impact "
             "that 1 ha of the place reaches) in the next 48 h, the first lead at orange, "
             "and what happened there in the same 48 h (largest flooded area, first hour "
             "with ≥ 1 ha flooded)."]
    for c in cases:
        lines += ["", f"### {c['name']} — {c['place']}", "",
                  f"{c['start']} – {c['end']}; rain max {c['rain_24h_max_mm']:.0f} mm/24 h, sea "
                  f"max {c['sea_level_max_m'] * 100:.0f} cm; first flood "
                  f"{c['first_flood'] or 'none'}, up to {c['flooded_ha_max']:.1f} ha.", "",
                  "| issue time | level | score | orange from +h | flooded ha | flood from +h |",
                  "|---|---|---|---|---|---|"]
        for r in c["issues"]:
            lines.append(f"| {r['issue_time']} | {r['level_max']} | {r['score_max']:.2f} | "
                         f"{r['orange_from_h'] if r['orange_from_h'] is not None else '–'} | "
                         f"{r['flooded_ha_max']:.1f} | "
                         f"{r['flood_from_h'] if r['flood_from_h'] is not None else '–'} |")
        if pngs and c["name"] in pngs:
            lines += ["", f"![{c['name']}]({pngs[c['name']]})"]
    return lines


def case_study_pngs(events: dict[str, Any] | None, folder: Path,
                    thresholds: dict[str, float] | None = None) -> dict[str, str]:
    """One chart per storm: forecast score per issue time against the flooded area."""
    from matplotlib.figure import Figure  # noqa: PLC0415 — matplotlib only for the card's charts

    out: dict[str, str] = {}
    for k, c in enumerate((events or {}).get("case_studies", [])):
        if not c["issues"]:
            continue
        fig = Figure(figsize=(6.0, 3.2), dpi=90)
        ax = fig.subplots()
        x = [r["issue_time"][5:13].replace("T", " ") for r in c["issues"]]
        ax.bar(x, [r["score_max"] for r in c["issues"]], color="#e69f00",
               label="forecast score (48 h max)")
        for lv, colour in (("orange", "#d55e00"), ("red", "#a00000")):
            if thresholds and lv in thresholds:
                ax.axhline(thresholds[lv], color=colour, lw=0.8, ls="--", label=lv)
        ax.set(ylabel="score", title=f"{c['name']} — {c['place']}")
        ax.tick_params(axis="x", labelsize=6, rotation=45)
        ax2 = ax.twinx()
        ax2.plot(x, [r["flooded_ha_max"] for r in c["issues"]], color="#0072b2", marker="o",
                 label="flooded ha in the next 48 h")
        ax2.set_ylabel("flooded ha")
        fig.legend(fontsize=6, loc="lower center", ncol=4, frameon=False)
        fig.tight_layout(rect=(0, 0.07, 1, 1))  # room for the legend under the axes
        name = f"case_{k + 1}.png"
        fig.savefig(folder / name)
        out[c["name"]] = name
    return out


def card_skill_lines(ev: dict[str, Any]) -> list[str]:
    """The model card's part on what the scores mean: in words, per cause, per storm."""
    lines = ["", "## In plain words", "", *[f"- {s}" for s in plain_truth_sentences(ev)]]
    if (ev.get("events") or {}).get("truth"):
        lines += [f"- A flood event above: {ev['events']['truth']}."]
    lines += cause_lines(ev.get("events"))
    lines += reliability_count_lines(ev)
    lines += case_study_lines(ev.get("events"))
    return lines


def event_summary(events: dict[str, Any] | None) -> dict[str, Any] | None:
    """The event scores without the event lists (for the site and the card)."""
    if not events:
        return None
    return {"quiet_issues": events["quiet_issues"],
            "quiet_without_warning": events["quiet_without_warning"],
            "n_issues": events["n_issues"], "issue_step_h": events.get("issue_step_h"),
            "levels": {lv: {k: v for k, v in d.items() if k != "events"}
                       for lv, d in events["levels"].items()}}


def upper_bound_lines(events: dict[str, Any] | None) -> list[str]:
    """The events with the forecast drivers against the same replay fed the observed ones.

    The gap is what a perfect weather and sea-level forecast would add; what the upper
    bound still misses lies in the model, the warning rule or the labels.
    """
    bound = (events or {}).get("observed_drivers")
    if not bound:
        return []
    lines = ["", f"Upper bound on the same {bound['n_issues']} issue times: the model fed the "
             "drivers as they were then observed instead of their forecast.", "",
             "| drivers | quiet: no warning | yellow POD / FAR | orange POD / FAR | "
             "orange POD rain / sea | red POD / FAR |", "|---|---|---|---|---|---|"]
    for name, v in (("forecast", bound["forecast"]), ("observed", bound["observed"])):
        lv = v["levels"]
        cause = lv["orange"].get("by_cause", {})
        lines.append(
            f"| {name} | {_fmt(v['quiet_without_warning'])} | "
            + " | ".join(f"{_fmt(lv[k]['pod'])} / {_fmt(lv[k]['far'])}"
                         for k in ("yellow", "orange"))
            + f" | {_fmt(cause.get('rain', {}).get('pod'))} / "
            f"{_fmt(cause.get('sea', {}).get('pod'))} | "
            f"{_fmt(lv['red']['pod'])} / {_fmt(lv['red']['far'])} |")
    return lines


def event_lines(events: dict[str, Any] | None) -> list[str]:
    """Markdown of the event-level verification per place."""
    if not events:
        return ["", "## Event-level verification per place", "", "Not run."]
    lines = ["", "## Event-level verification per place", "",
             f"{events['n_issues']} hold-out issue times (every {events.get('issue_step_h')} h) "
             f"replayed as forecast runs. A flood event: {events.get('truth', '')}. "
             f"Quiet issue times (no flood anywhere in the next 48 h): {events['quiet_issues']}; "
             f"share of them with no warning at all: **{_fmt(events['quiet_without_warning'])}**.",
             "", "| level | events | warned | POD | warnings | false | FAR | median lead h | "
             "median onset error h | median abs onset error h | median peak error h |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for lv, d in events["levels"].items():
        lines.append(f"| {lv} | {d['n_events']} | {d['hits']} | {_fmt(d['pod'])} | "
                     f"{d['n_warnings']} | {d['false_warnings']} | {_fmt(d['far'])} | "
                     f"{_fmt(d['median_lead_h'])} | {_fmt(d['median_onset_error_h'])} | "
                     f"{_fmt(d['median_abs_onset_error_h'])} | {_fmt(d['median_peak_error_h'])} |")
    lines += upper_bound_lines(events)
    lines += ["", "| place | events | warned orange | missed orange | false orange | "
              "false red |", "|---|---|---|---|---|---|"]
    for place in events.get("places", []):
        d = events["per_place"].get(place, {})
        lines.append(f"| {place} | {d.get('events', 0)} | {d.get('warned_orange', 0)} | "
                     f"{d.get('missed_orange', 0)} | {d.get('false_orange', 0)} | "
                     f"{d.get('false_red', 0)} |")
    orange = events["levels"].get("orange", {}).get("events", [])
    if orange:
        lines += ["", "Events at orange (onset, place, warned, lead h, onset error h):", ""]
        for e in orange[:40]:
            what = "warned" if e["warned"] else "missed"
            if e["lead_h"] is not None:
                what += f", lead {e['lead_h']:.0f} h, onset error {e['onset_error_h']:+.0f} h"
            lines.append(f"- {e['onset']} {e['place']}: {what}")
    return lines


def _table(ev: dict[str, Any], metric: str) -> list[str]:
    bins = ev["lead_bins"]
    lines = ["| method | " + " | ".join(f"{b} h" for b in bins) + " |",
             "|---" * (len(bins) + 1) + "|"]
    for m in [m for m in METHODS if m in ev["scores"]]:
        vals = ev["scores"][m].get(metric)
        if vals is not None:
            lines.append(f"| {m} | " + " | ".join(_fmt(v) for v in vals) + " |")
    return lines


def reliability_pngs(ev: dict[str, Any], folder: Path) -> list[str]:
    """One reliability diagram per lead bin; returns the file names."""
    # a Figure without pyplot: no global backend switch (a notebook's inline plots stay
    # on) and safe in worker threads
    from matplotlib.figure import Figure  # noqa: PLC0415 - matplotlib is slow to import; only report figures need it

    names = []
    for i, b in enumerate(ev["lead_bins"]):
        fig = Figure(figsize=(4.2, 4.2), dpi=90)
        ax = fig.subplots()
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--", label="perfect")
        for method, curves in ev.get("reliability", {}).items():
            c = curves[i]
            ax.plot(c["forecast"], c["observed"], marker="o", ms=3, label=method)
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="forecast probability",
               ylabel="observed frequency", title=f"Reliability, lead {b} h")
        ax.legend(fontsize=7, loc="upper left")
        fig.tight_layout()
        name = f"reliability_{b.replace('-', '_')}h.png"
        fig.savefig(folder / name)
        names.append(name)
    return names


def markdown_report(meta: dict[str, Any], pngs: list[str],
                    case_pngs: dict[str, str] | None = None) -> str:
    ev = meta["evaluation"]
    v = verdict(ev)
    t = ev.get("thresholds", {})
    lines = [
        f"# Verification of model {meta.get('version', '?')} ({meta.get('area', '?')})", "",
        f"Hold-out issue times {ev['holdout'][0]} – {ev['holdout'][1]}: {ev['n_issues']} issues × "
        f"{ev['n_cells']} cells × every lead = {ev['n_rows']} rows ({ev['n_wet']} wet). "
        f"{calibration_sentence(ev)} `model_raw` is the booster's own probabilities. "
        "`model_observed_drivers` is the model fed the *observed* future rain and sea level "
        "(the upper bound a perfect weather and surge forecast would give). "
        "`issue_time_baseline` is a LightGBM on terrain and the drivers observed up to the "
        "issue time (no forecast). `nowcast` and the other yes/no rules are reported as "
        "extras: their Brier scores are harsh by construction.", "",
        "## Verdict", "",
        *[f"- BSS above 0 against {REFERENCE_TITLES[r]} in every lead bin: **{ok}**"
          for r, ok in v.get("beats_references_bss", {}).items()],
        f"- 42–48 h above every reference: **{v.get('last_bin_above_every_reference')}**",
        f"- Beats every yes/no rule and climatology in Brier skill score in every lead bin: "
        f"**{v['beats_baselines_bss']}**",
        f"- Beats every baseline in CSI at orange (p ≥ {t.get('orange', '?')}) in every bin: "
        f"**{v['beats_baselines_csi_orange']}**",
    ]
    if "nowcast" in ev["scores"]:
        lines.append(f"- 42–48 h forecast at least as skilful as the nowcast (BSS "
                     f"{_fmt(v['last_bin_model_bss'])} vs. the nowcast's "
                     f"{_fmt(v['last_bin_nowcast_bss'])} on the same rows): "
                     f"**{v['last_bin_at_least_nowcast']}**")
    lines += case_lines(ev)  # the cases behind each bin; bins without any, and why
    for ref in [r for r in REFERENCES if f"bss_{r}" in ev["scores"].get("model", {})]:
        lines += ["", f"## Brier skill score against {REFERENCE_TITLES[ref]}", "",
                  *_table(ev, f"bss_{ref}")]
    lines += level_truth_lines(ev)
    for metric, title in (("brier_skill", "Brier skill score vs. per-cell climatology"),
                          ("brier", "Brier score"), ("roc_auc", "ROC-AUC"),
                          ("pr_auc", "PR-AUC"), ("ece", "Expected calibration error")):
        lines += ["", f"## {title}", "", *_table(ev, metric)]
    for level in ("yellow", "orange", "red"):
        for k in ("pod", "far", "csi"):
            lines += ["", f"## {k.upper()} at {level} (p ≥ {t.get(level, '?')})", "",
                      *_table(ev, f"{k}_{level}")]
    cal = meta.get("calibration", {}).get("validation_ece")
    if cal:
        lines += ["", "## Calibration on the validation period (ECE per lead bin)", "",
                  "| | " + " | ".join(ev["lead_bins"]) + " |",
                  "|---" * (len(ev["lead_bins"]) + 1) + "|",
                  "| before | " + " | ".join(_fmt(x) for x in cal["before"]) + " |",
                  "| after | " + " | ".join(_fmt(x) for x in cal["after"]) + " |"]
    guard = meta.get("calibration", {}).get("guard")
    if guard:
        lines += ["", "Kept per bin only where it lowers the Brier score on out-of-fold "
                  "predictions outside the validation period:", "",
                  "| lead bin | kept | Brier raw | Brier calibrated |", "|---|---|---|---|"]
        lines += [f"| {g['lead_bin'][0]}-{g['lead_bin'][1]} | {g['kept']} | "
                  f"{_fmt(g.get('brier_raw'))} | {_fmt(g.get('brier_calibrated'))} |"
                  for g in guard]
    cv = meta.get("cv")
    if cv:
        lines += ["", "## Cross-validation blocked in space and by storm", "",
                  f"{cv['scheme']['n_folds']} folds, tiles of {cv['scheme']['tile_m']:.0f} m, "
                  f"{cv['scheme']['storms']} storms, gap {cv['scheme']['gap_h']} h.", "",
                  "| fold | test rows | storms tested | storms shared | BSS | ROC-AUC |",
                  "|---|---|---|---|---|---|"]
        for f in cv["folds"]:
            lines.append(f"| {f['fold']} | {f.get('n_test', '–')} | {f.get('storms_tested', '–')}"
                         f" | {f.get('storms_shared', '–')} | {_fmt(f.get('brier_skill'))} | "
                         f"{_fmt(f.get('roc_auc'))} |")
    lines += event_lines(ev.get("events"))
    lines += cause_lines(ev.get("events"))
    lines += reliability_count_lines(ev)
    lines += ["", "## Reliability diagrams", ""] + [f"![{p}]({p})" for p in pngs]
    lines += case_study_lines(ev.get("events"), case_pngs)
    lines += ["", f"Wet cells missed by the screen in a sample outside it: "
              f"{ev['screen_misses']}."]
    return "\n".join(lines) + "\n"


def calibration_sentence(ev: dict[str, Any]) -> str:
    """Plain words on whether the scored probabilities are calibrated."""
    if ev.get("calibration_applied"):
        return ("`model` is the booster with isotonic calibration applied in the lead bins "
                "where it lowered the Brier score on independent rows.")
    return ("Calibration is not applied: it was rejected in every lead bin, so `model` is "
            "the booster's own, uncalibrated probabilities; read the reliability tables "
            "for how often each probability came true.")


def level_truth_lines(ev: dict[str, Any]) -> list[str]:
    """How often each probability band came true, per lead bin, with case counts."""
    model = ev["scores"].get("model", {})
    if "came_true_red" not in model:
        return []
    bins = ev["lead_bins"]
    lines = ["", "## How often the model's probabilities came true (cell-hours)", "",
             "Share of cell-hours forecast in each probability band, cut at the levels' "
             "thresholds, that were wet (cases in brackets). A cell's warning level also "
             "asks for the impact there, so these bands are not the warning levels.", "",
             "| probability | " + " | ".join(f"{b} h" for b in bins) + " |",
             "|---" * (len(bins) + 1) + "|"]
    for lv in ("yellow", "orange", "red"):
        lines.append(f"| {probability_band(ev, lv)} | " + " | ".join(
            f"{_fmt(f)} ({n})" for f, n in zip(model[f"came_true_{lv}"], model[f"cases_{lv}"],
                                               strict=True)) + " |")
    return lines


def reliability_count_lines(ev: dict[str, Any]) -> list[str]:
    """The model's reliability per lead bin as a table with the number of cases."""
    curves = ev.get("reliability", {}).get("model")
    if not curves:
        return []
    lines = ["", "## Reliability of the model per lead bin (forecast → observed, cases)", ""]
    for b, c in zip(ev["lead_bins"], curves, strict=True):
        cells = "; ".join(f"{f:.2f} → {o:.2f} ({n})" for f, o, n in
                          zip(c["forecast"], c["observed"], c["count"], strict=True))
        lines.append(f"- {b} h: {cells}")
    return lines


def _html(markdown: str) -> str:
    """A minimal Markdown → HTML for this report's headings, lists, tables and images."""
    out, table = [], False
    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if set("".join(cells)) <= set("-"):
                continue
            tag = "th" if not table else "td"
            if not table:
                out.append("<table>")
                table = True
            out.append("<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells)
                       + "</tr>")
            continue
        if table:
            out.append("</table>")
            table = False
        if line.startswith("#"):
            n = len(line) - len(line.lstrip("#"))
            out.append(f"<h{n}>{html.escape(line[n:].strip())}</h{n}>")
        elif line.startswith("!["):
            src = line[line.index("(") + 1:-1]
            out.append(f'<img src="{html.escape(src)}" alt="{html.escape(src)}">')
        elif line.startswith("- "):
            out.append(f"<p>• {html.escape(line[2:]).replace('**', '')}</p>")
        elif line:
            out.append(f"<p>{html.escape(line)}</p>")
    if table:
        out.append("</table>")
    style = ("body{font-family:sans-serif;max-width:60em;margin:auto}table{border-collapse:"
             "collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}")
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Verification"
            f"</title><style>{style}</style></head><body>{''.join(out)}</body></html>\n")


def write_report(model_dir: Path, meta: dict[str, Any], images: bool = True) -> Path:
    """Write the report folder next to the model; returns ``.../evaluation``.

    ``images=False``: the text, tables and scorecard without the charts (the model
    configuration's ``evaluation.report_images: false``, for tests that read no chart).
    """
    final = Path(model_dir) / "evaluation"
    tmp = final.with_name(f".evaluation.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    pngs = reliability_pngs(meta["evaluation"], tmp) if images else []
    case_pngs = case_study_pngs(meta["evaluation"].get("events"), tmp,
                                meta["evaluation"].get("thresholds")) if images else {}
    md = markdown_report(meta, pngs, case_pngs)
    (tmp / "evaluation.md").write_text(md, encoding="utf-8")
    (tmp / "evaluation.html").write_text(_html(md), encoding="utf-8")
    card = site_scorecard(meta["evaluation"], meta.get("version", "?"),
                          meta.get("evaluated_at", meta.get("created", "")))
    (tmp / "scorecard.json").write_text(json.dumps(card, indent=2))
    (tmp / "evaluation.json").write_text(json.dumps(meta["evaluation"], indent=1, default=str))
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final
