"""A trained model's card: data, periods, what a warning means, honest scores, limits."""

from __future__ import annotations

from typing import Any

from wetindex.model.label_times import case_lines
from wetindex.model.report import (
    REFERENCE_TITLES,
    calibration_sentence,
    card_skill_lines,
    event_summary,
    probability_band,
    upper_bound_lines,
    verdict,
)
from wetindex.stages.context import AreaContext


def _levels_text(values: list[float], fmt: str) -> str:
    """``"0.2 / 0.4 / 0.7 (yellow / orange / red)"`` for per-level values."""
    return " / ".join(fmt.format(v) for v in values) + " (yellow / orange / red)"

def model_card(ctx: AreaContext, meta: dict[str, Any]) -> str:
    """A short Markdown model card: data, period, what a warning means, honest scores, limits."""
    ev = meta["evaluation"]
    bins = ev["lead_bins"]
    lines = [
        f"# Wet-index model for {ctx.config.title}", "",
        "LightGBM gradient-boosted trees predicting the probability that a grid cell is "
        "covered by surface water at each hour 1–48 h after the issue time. A warning is "
        "about excess water: above the cell's seasonal normal (same-month wet frequency of "
        "the training history, kept with the model) and beyond what stands at the issue "
        "time. Its level is a risk matrix of the chance of that water and the harm it "
        "does where it falls (what is exposed, and how rarely it is wet that month): "
        "yellow, orange and red need an impact of "
        f"{_levels_text(ctx.config.thresholds.as_list(), '{:g}')} and a chance of "
        f"{_levels_text(ctx.config.warning_chance.as_list(), '{:.0%}')}; "
        "permanent water is never warned.", "",
        "## Training data",
        f"- Inputs: {', '.join(a['name'] for a in meta['inputs'])}",
        f"- Training issue times: {meta['periods']['train'][0]} – {meta['periods']['train'][1]}",
        f"- Validation (early stopping): {meta['periods']['validation'][0]} – "
        f"{meta['periods']['validation'][1]}",
        f"- Hold-out: {meta['periods']['holdout'][0]} – {meta['periods']['holdout'][1]}",
        f"- Rows: {meta['rows']['train']} training ({meta['rows']['train_wet']} wet), "
        f"{meta['rows']['validation']} validation; {meta['rows']['training_cells']} cells of "
        f"{meta['rows']['candidate_cells']} candidates",
        "", "## Calibration", "", calibration_sentence(ev),
    ]
    refs = [r for r in ev.get("references", []) if f"bss_{r}" in ev["scores"]["model"]]
    if refs:
        lines += ["", "## Hold-out Brier skill score of the model against each reference", "",
                  "| reference | " + " | ".join(bins) + " |", "|---" * (len(bins) + 1) + "|"]
        for r in refs:
            lines.append(f"| {REFERENCE_TITLES.get(r, r)} | " + " | ".join(
                f"{v:.3f}" for v in ev["scores"]["model"][f"bss_{r}"]) + " |")
        if "model_observed_drivers" in ev["scores"]:
            lines.append("| upper bound: the model fed the observed drivers, vs. never wet | "
                         + " | ".join(f"{v:.3f}" for v in
                                      ev["scores"]["model_observed_drivers"]["bss_never_wet"])
                         + " |")
    lines += case_lines(ev)  # cases per lead bin; bins without any, and why
    m = ev["scores"]["model"]
    if "came_true_red" in m:
        lines += ["", "## How often the model's probabilities came true (cell-hours, all "
                  "leads)", ""]
        for lv in ("yellow", "orange", "red"):
            n = sum(m[f"cases_{lv}"])
            hits = sum(f * c for f, c in zip(m[f"came_true_{lv}"], m[f"cases_{lv}"], strict=True)
                       if c)
            band = probability_band(ev, lv)
            lines.append(f"- {band}: {hits / n:.0%} of {n} cases" if n else f"- {band}: no cases")
    events = event_summary(ev.get("events"))
    if events:
        lines += ["", "## Events per place on the hold-out", "",
                  f"- Quiet issue times with no warning at all: "
                  f"{events['quiet_without_warning']:.0%} of {events['quiet_issues']}"]
        for lv, d in events["levels"].items():
            lines.append(f"- {lv}: POD {d['pod']:.2f} ({d['hits']}/{d['n_events']} events), "
                         f"FAR {d['far']:.2f} ({d['false_warnings']}/{d['n_warnings']} "
                         f"warnings), median lead {d['median_lead_h']:.0f} h, median onset "
                         f"error {d['median_onset_error_h']:+.0f} h")
        lines += upper_bound_lines(ev.get("events"))
    v = verdict(ev) if "model" in ev["scores"] else {}
    cv = meta.get("cv") or {}
    lines += [
        "", f"Rows scored: {ev['n_rows']} ({ev['n_wet']} wet); wet cells missed by the screen "
        f"in a sample outside it: {ev['screen_misses']}. Full report: `evaluation/`.", "",
        f"- 42–48 h above every reference: {v.get('last_bin_above_every_reference')}",
        f"- Extras (yes/no rules): beats each in BSS in every lead bin: "
        f"{v.get('beats_baselines_bss')}; in CSI at orange: "
        f"{v.get('beats_baselines_csi_orange')}",
    ]
    if cv.get("mean"):
        lines.append(f"- Cross-validation blocked by {cv['scheme']['tile_m']:.0f} m tiles and "
                     f"{cv['scheme']['storms']} storms ({cv['scheme']['n_folds']} folds): mean "
                     f"BSS {cv['mean']['brier_skill']:.3f}, ROC-AUC {cv['mean']['roc_auc']:.3f}")
    lines += card_skill_lines(ev)
    lines += [
        "", "## Known limits",
        "- Rain, sea level and groundwater anomaly are area-uniform series in this version.",
        "- Trained on the demo world's simulated water when the area is the demo: its skill "
        "says nothing about a real municipality.",
        "- Forecast-quality inputs: the demo's archived forecasts have errors growing with "
        "lead; a real area needs archived forecasts or an error model by lead.",
        "- Flood events are scored on the screen's candidate cells only; wet cells outside "
        "the screen are counted separately above.",
    ]
    return "\n".join(lines) + "\n"
