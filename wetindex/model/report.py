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

#: Rows of the headline tables, in this order when present.
METHODS: tuple[str, ...] = ("model", "model_raw", "climatology", "climatology_month",
                            "persistence", "rain_rule", "bathtub", "best_baseline", "nowcast")
BASELINES: tuple[str, ...] = ("climatology", "climatology_month", "persistence", "rain_rule",
                              "bathtub", "best_baseline")
#: Metrics the site's About page shows.
SITE_METRICS: tuple[str, ...] = ("brier_skill", "roc_auc", "csi_orange")
SITE_METHODS: tuple[str, ...] = ("model", "best_baseline", "nowcast", "persistence",
                                 "climatology_month")


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
    return {"model_version": model_version, "evaluated_at": evaluated_at,
            "lead_bins": ev["lead_bins"], "scores": scores}


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
    from matplotlib.figure import Figure

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


def markdown_report(meta: dict[str, Any], pngs: list[str]) -> str:
    ev = meta["evaluation"]
    v = verdict(ev)
    t = ev.get("thresholds", {})
    lines = [
        f"# Verification of model {meta.get('version', '?')} ({meta.get('area', '?')})", "",
        f"Hold-out issue times {ev['holdout'][0]} – {ev['holdout'][1]}: {ev['n_issues']} issues × "
        f"{ev['n_cells']} cells × every lead = {ev['n_rows']} rows ({ev['n_wet']} wet). "
        f"`model` is calibrated ({ev.get('calibrated', False)}); `model_raw` is the booster "
        "before calibration. `nowcast` is the best baseline given the *observed* drivers at "
        "the valid time and the latest satellite pass before it.", "",
        "## Verdict", "",
        f"- Beats every baseline in Brier skill score in every lead bin: "
        f"**{v['beats_baselines_bss']}**",
        f"- Beats every baseline in CSI at orange (p ≥ {t.get('orange', '?')}) in every bin: "
        f"**{v['beats_baselines_csi_orange']}**",
    ]
    if "nowcast" in ev["scores"]:
        lines.append(f"- 42–48 h forecast at least as skilful as the nowcast (BSS "
                     f"{_fmt(v['last_bin_model_bss'])} vs. the nowcast's "
                     f"{_fmt(v['last_bin_nowcast_bss'])} on the same rows): "
                     f"**{v['last_bin_at_least_nowcast']}**")
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
    lines += ["", "## Reliability diagrams", ""] + [f"![{p}]({p})" for p in pngs]
    lines += ["", f"Wet cells missed by the screen in a sample outside it: "
              f"{ev['screen_misses']}."]
    return "\n".join(lines) + "\n"


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


def write_report(model_dir: Path, meta: dict[str, Any]) -> Path:
    """Write the report folder next to the model; returns ``.../evaluation``."""
    final = Path(model_dir) / "evaluation"
    tmp = final.with_name(f".evaluation.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    pngs = reliability_pngs(meta["evaluation"], tmp)
    md = markdown_report(meta, pngs)
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
