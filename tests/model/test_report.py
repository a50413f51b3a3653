"""The verification report and the done-when verdict, from an evaluation made in code."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from wetindex.model.evaluate import lead_bins, score_by_lead_bin
from wetindex.model.report import site_scorecard, verdict, write_report


def _evaluation(model_noise: float) -> dict:
    rng = np.random.default_rng(0)
    n = 8_000
    lead = rng.integers(1, 49, n)
    p_true = rng.beta(0.3, 4, n)
    y = (rng.random(n) < p_true).astype("float32")
    probs = {
        "model": np.clip(p_true + rng.normal(0, model_noise, n), 0, 1),
        "climatology": np.full(n, y.mean()),
        "persistence": (rng.random(n) < 0.5 * p_true).astype("float32"),
        "rain_rule": (p_true > 0.6).astype("float32"),
        "bathtub": np.zeros(n, "float32"),
    }
    probs["model_raw"] = probs["model"]
    probs["best_baseline"] = np.maximum.reduce([probs[k] for k in
                                                ("persistence", "rain_rule", "bathtub")])
    probs["nowcast"] = (p_true > 0.5).astype("float32")
    bins = lead_bins(48)
    scores, reliability = score_by_lead_bin(probs, y, lead, bins, [0.2, 0.4, 0.7])
    return {"lead_bins": [f"{a}-{b}" for a, b in bins], "scores": scores,
            "reliability": reliability, "n_rows": n, "n_wet": int(y.sum()), "n_issues": 10,
            "n_cells": 100, "screen_misses": 0, "holdout": ["2024-01-01", "2024-03-01"],
            "thresholds": {"yellow": 0.2, "orange": 0.4, "red": 0.7}, "calibrated": True}


def test_every_metric_per_level_and_bin_and_a_verdict():
    ev = _evaluation(0.02)
    m = ev["scores"]["model"]
    for key in ("brier", "brier_skill", "roc_auc", "pr_auc", "ece", "pod_yellow", "far_orange",
                "csi_red"):
        assert len(m[key]) == 8, key
    v = verdict(ev)
    assert v["beats_baselines_bss"] and v["beats_baselines_csi_orange"]
    assert v["last_bin_at_least_nowcast"]
    bad = verdict(_evaluation(0.6))  # a noisy model loses to the rule-based baselines
    assert not bad["beats_baselines_bss"]


def test_report_files_are_written_next_to_the_model(tmp_path):
    ev = _evaluation(0.02)
    meta = {"version": "v1", "area": "demo", "created": "2026-01-01T00:00:00+00:00",
            "evaluation": ev,
            "calibration": {"validation_ece": {"before": [0.02] * 8, "after": [0.01] * 8}},
            "cv": {"scheme": {"n_folds": 3, "tile_m": 500.0, "storms": 4, "gap_h": 120},
                   "folds": [{"fold": 0, "n_test": 10, "storms_tested": 2, "storms_shared": 0,
                              "brier_skill": 0.4, "roc_auc": 0.9}]}}
    folder = write_report(tmp_path, meta)
    pngs = sorted(folder.glob("reliability_*.png"))
    assert len(pngs) == 8 and pngs[0].read_bytes()[:4] == b"\x89PNG"
    md = (folder / "evaluation.md").read_text()
    assert "| nowcast |" in md and "CSI at orange" in md and "storms shared" in md
    html = (folder / "evaluation.html").read_text()
    assert "<table>" in html and 'src="reliability_0_6h.png"' in html
    card = json.loads((folder / "scorecard.json").read_text())
    assert card["model_version"] == "v1" and set(card["scores"]["model"]) == {
        "brier_skill", "roc_auc", "csi_orange"}
    assert site_scorecard(ev, "v1", "now")["lead_bins"][-1] == "42-48"


def test_cli_names_a_missing_area_file(tmp_path, project_root):
    from wetindex.cli import app

    result = CliRunner().invoke(app, ["evaluate", "--area", "nowhere", "--root",
                                      str(project_root)])
    assert result.exit_code == 2
    assert "areas/nowhere.yaml" in result.output


def _with_references(model: np.ndarray, y: np.ndarray, lead: np.ndarray) -> dict:
    rng = np.random.default_rng(1)
    probs = {"model": model, "climatology": np.full(len(y), y.mean()),
             "never_wet": np.zeros(len(y)), "climatology_month": np.full(len(y), y.mean()),
             "issue_time_baseline": np.clip(y * 0.3 + rng.random(len(y)) * 0.1, 0, 1)}
    bins = lead_bins(48)
    scores, reliability = score_by_lead_bin(probs, y, lead, bins, [0.2, 0.4, 0.7])
    return {"lead_bins": [f"{a}-{b}" for a, b in bins], "scores": scores,
            "reliability": reliability, "n_rows": len(y), "n_wet": int(y.sum()), "n_issues": 3,
            "n_cells": 10, "screen_misses": 0, "holdout": ["2024-01-01", "2024-03-01"],
            "thresholds": {"yellow": 0.2, "orange": 0.4, "red": 0.7}, "calibrated": True,
            "calibration_applied": False,
            "references": ["never_wet", "climatology_month", "issue_time_baseline"]}


def test_an_all_zero_forecast_does_not_beat_never_wet_or_climatology():
    rng = np.random.default_rng(0)
    y = (rng.random(6000) < 0.05).astype("float32")
    lead = rng.integers(1, 49, 6000)
    ev = _with_references(np.zeros(6000), y, lead)
    v = verdict(ev)
    assert v["beats_references_bss"] == {"never_wet": False, "climatology_month": False,
                                         "issue_time_baseline": False}
    assert not v["last_bin_above_every_reference"]
    assert all(b == 0.0 for b in ev["scores"]["model"]["bss_never_wet"])


def test_levels_came_true_with_case_counts_and_no_calibrated_claim(tmp_path):
    rng = np.random.default_rng(0)
    p = rng.random(8000)
    y = (rng.random(8000) < p).astype("float32")  # reliable by construction
    ev = _with_references(p, y, rng.integers(1, 49, 8000))
    m = ev["scores"]["model"]
    assert sum(m["cases_red"]) == int((p >= 0.7).sum())
    assert all(0.75 < f < 0.95 for f in m["came_true_red"])  # red came true ~85 % of the time
    v = verdict(ev)
    assert v["beats_references_bss"]["never_wet"] and v["last_bin_above_every_reference"]
    md = (write_report(tmp_path, {"version": "v1", "area": "demo", "evaluation": ev})
          / "evaluation.md").read_text()
    assert "Calibration is not applied" in md and "is calibrated" not in md
    assert "How often the model's probabilities came true" in md and "against “never wet”" in md


def test_plain_words_cause_table_and_case_study_reach_report_card_and_site(tmp_path):
    """Uncalibrated probabilities are said to be so in words (English and Danish) on the
    site's note; each level's share that came true is given; per-cause scores and a storm's
    case study (table and chart) are in the report and in the card's lines."""
    from wetindex.model.report import card_skill_lines

    rng = np.random.default_rng(0)
    p = rng.random(8000)
    y = (rng.random(8000) < p).astype("float32")
    ev = _with_references(p, y, rng.integers(1, 49, 8000))
    scores = {"n_events": 2, "hits": 1, "pod": 0.5, "n_warnings": 4, "false_warnings": 1,
              "far": 0.25, "median_lead_h": 21.0, "median_onset_error_h": 2.0}
    ev["events"] = {
        "n_issues": 3, "issue_step_h": 24, "quiet_issues": 1, "quiet_without_warning": 1.0,
        "levels": {lv: {**scores, "median_abs_onset_error_h": 2.0, "median_peak_error_h": 0.0,
                        "events": [], "by_cause": {"sea": scores, "rain": scores}}
                   for lv in ("yellow", "orange", "red")},
        "per_place": {}, "places": ["Polderen"],
        "case_studies": [{"name": "sea storm of 2024-02-01", "start": "2024-02-01T00:00:00",
                          "end": "2024-02-02T00:00:00", "kind": "sea", "rain_24h_max_mm": 3.0,
                          "sea_level_max_m": 1.9, "place": "Polderen",
                          "first_flood": "2024-02-01T20:00:00", "flooded_ha_max": 12.0,
                          "issues": [{"issue_time": "2024-01-31T00:00:00", "level_max": "orange",
                                      "score_max": 0.55, "orange_from_h": 40,
                                      "flooded_ha_max": 12.0, "flood_from_h": 44}]}]}
    folder = write_report(tmp_path, {"version": "v1", "area": "demo", "evaluation": ev})
    md = (folder / "evaluation.md").read_text()
    assert "| orange | sea | 2 | 1 | 0.500 | 4 | 1 | 0.250 | 21.000 | 2.000 |" in md
    assert "### sea storm of 2024-02-01 — Polderen" in md
    assert "| 2024-01-31T00:00:00 | orange | 0.55 | 40 | 12.0 | 44 |" in md
    assert (folder / "case_1.png").read_bytes()[:4] == b"\x89PNG" and "case_1.png" in md
    note = json.loads((folder / "scorecard.json").read_text())["method_note"]
    assert "not calibrated" in note["en"] and "ikke kalibreret" in note["da"]
    assert "Når modellen gav en celle 70% eller mere, stod der vand i" in note["da"]
    assert "Af 4 orange varsler for et sted blev 75% fulgt af en oversvømmelse der." in note["da"]
    m = ev["scores"]["model"]
    red = sum(f * c for f, c in zip(m["came_true_red"], m["cases_red"], strict=True) if c)
    share = red / sum(m["cases_red"])
    assert (f"When the model gave a cell 70% or more, it was under water in {share:.0%}"
            in note["en"])
    assert "Of 4 orange warnings for a place, 75% were followed by a flood there." in note["en"]
    card = "\n".join(card_skill_lines(ev))
    assert "## In plain words" in card and "| orange | rain |" in card
    assert "Reliability of the model per lead bin" in card and "sea storm of 2024-02-01" in card


def test_the_event_upper_bound_is_shown_beside_the_forecast(tmp_path):
    """The report and the card put the events with the observed drivers next to the ones
    with the forecast drivers, cause by cause; without a bound neither shows a table."""
    from wetindex.model.report import event_lines, upper_bound_lines

    def scores(pod: float) -> dict:
        s = {"n_events": 10, "hits": int(10 * pod), "pod": pod, "n_warnings": 8,
             "false_warnings": 2, "far": 0.25, "median_lead_h": 20.0,
             "median_onset_error_h": 1.0, "median_abs_onset_error_h": 1.0,
             "median_peak_error_h": 0.0}
        return {**s, "by_cause": {"rain": {**s, "pod": pod}, "sea": {**s, "pod": pod / 2}}}

    def verified(pod: float, quiet: float) -> dict:
        return {"n_issues": 30, "quiet_issues": 5, "quiet_without_warning": quiet,
                "levels": {lv: scores(pod) for lv in ("yellow", "orange", "red")}}

    events = {**verified(0.6, 0.8), "issue_step_h": 24, "per_place": {}, "places": []}
    assert upper_bound_lines(events) == []
    events["observed_drivers"] = {"n_issues": 28, "forecast": verified(0.6, 0.8),
                                  "observed": verified(0.9, 0.7)}
    lines = upper_bound_lines(events)
    assert "same 28 issue times" in lines[1]
    assert lines[-2] == ("| forecast | 0.800 | 0.600 / 0.250 | 0.600 / 0.250 | 0.600 / 0.300 "
                         "| 0.600 / 0.250 |")
    assert lines[-1].startswith("| observed | 0.700 | 0.900 / 0.250 | 0.900 / 0.250 | "
                                "0.900 / 0.450 |")
    assert "\n".join(lines) in "\n".join(event_lines(events))
