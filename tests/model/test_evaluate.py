"""Verification (wetindex.model.evaluate): scores of a hand-made hold-out whose values are
worked out by hand, and evaluate() on the small demo world with forecasts of known skill.

Wrong products these catch: a Brier skill score taken against the wrong reference or
with the ratio upside down, a row put in the wrong lead bin (``(a, b]``), POD/FAR/CSI
with hits and false alarms swapped, case counts that do not match the scored rows, a
ROC or PR area that is not sklearn's, and an all-zero forecast that passes as skilful
(on a dry hold-out it does beat the climatologies).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score
from small_world import small_model_config, small_world

from wetindex.model.dataset import split_periods
from wetindex.model.evaluate import (
    average_precision,
    evaluate,
    lead_bins,
    roc_auc,
    score_by_lead_bin,
)
from wetindex.model.report import verdict
from wetindex.model.train import screen_settings
from wetindex.modelgate import gate_failures, model_passes_gate

THRESHOLDS = [0.2, 0.4, 0.7]

# Two lead bins, four rows each. Lead 6 is in (0, 6], lead 7 in (6, 12].
LEAD = np.array([1, 3, 5, 6, 7, 9, 11, 12])
Y = np.array([1, 0, 0, 0, 1, 1, 0, 0], "float32")
MODEL = np.array([0.5, 0, 0, 0, 1.0, 0.5, 0, 0])


def _hand_made(model: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "model": model,
        "climatology": np.array([0.25] * 4 + [0.5] * 4),
        "never_wet": np.zeros(8),
        "climatology_month": np.full(8, 0.25),
        "issue_time_baseline": np.full(8, 0.5),
    }


def test_lead_bins_are_six_hours_wide_and_closed_on_the_right():
    assert lead_bins(48) == [(0, 6), (6, 12), (12, 18), (18, 24), (24, 30), (30, 36),
                             (36, 42), (42, 48)]
    assert lead_bins(12) == [(0, 6), (6, 12)]
    assert lead_bins(9) == [(0, 6), (6, 9)]


def test_scores_of_a_hand_made_holdout_are_the_hand_worked_values():
    scores, reliability = score_by_lead_bin(_hand_made(MODEL), Y, LEAD, lead_bins(12),
                                            THRESHOLDS)
    m = scores["model"]
    # Brier: bin 1 (0.5² + 0 + 0 + 0) / 4, bin 2 (0 + 0.5² + 0 + 0) / 4
    assert m["brier"] == pytest.approx([0.0625, 0.0625])
    # references' Brier: never wet 0.25 | 0.5; climatology 0.1875 | 0.25;
    # same-month climatology 0.1875 | 0.3125; issue-time baseline 0.25 | 0.25
    assert m["bss_never_wet"] == pytest.approx([0.75, 0.875])
    assert m["brier_skill"] == pytest.approx([2 / 3, 0.75])
    assert m["bss_climatology_month"] == pytest.approx([2 / 3, 0.8])
    assert m["bss_issue_time_baseline"] == pytest.approx([0.75, 0.75])
    # yellow (p ≥ 0.2): every wet row warned, no false alarm
    assert m["pod_yellow"] == [1.0, 1.0] and m["far_yellow"] == [0.0, 0.0]
    # red (p ≥ 0.7): bin 1 no warning (its wet row missed), bin 2 one hit and one miss
    assert m["pod_red"] == [0.0, 0.5] and m["csi_red"] == [0.0, 0.5]
    assert math.isnan(m["far_red"][0]) and m["far_red"][1] == 0.0
    # how often each level came true, with its cases: [threshold, next threshold)
    assert m["cases_orange"] == [1, 1] and m["came_true_orange"] == [1.0, 1.0]
    assert m["cases_red"] == [0, 1] and m["came_true_red"][1] == 1.0
    assert math.isnan(m["came_true_red"][0]) and m["cases_yellow"] == [0, 0]
    # a reference scored against itself has no skill
    assert scores["never_wet"]["bss_never_wet"] == [0.0, 0.0]
    assert len(reliability["model"]) == 2 and "never_wet" not in reliability


def test_roc_and_pr_areas_are_sklearns_with_ties():
    rng = np.random.default_rng(0)
    y = (rng.random(5000) < 0.1).astype("float32")
    p = np.round(rng.random(5000) * 0.3 + 0.5 * y * rng.random(5000), 2)  # many ties
    assert roc_auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert average_precision(y, p) == pytest.approx(average_precision_score(y, p), abs=1e-12)
    assert roc_auc(Y, MODEL) == roc_auc_score(Y, MODEL)


def test_a_perfect_forecast_has_full_skill_against_every_reference():
    scores, _ = score_by_lead_bin(_hand_made(Y.astype(float)), Y, LEAD, lead_bins(12),
                                  THRESHOLDS)
    m = scores["model"]
    assert m["brier"] == [0.0, 0.0]
    for ref in ("never_wet", "climatology_month", "issue_time_baseline"):
        assert m[f"bss_{ref}"] == [1.0, 1.0], ref
    for level in ("yellow", "orange", "red"):
        assert m[f"pod_{level}"] == [1.0, 1.0] and m[f"far_{level}"] == [0.0, 0.0]
        assert m[f"csi_{level}"] == [1.0, 1.0]
    assert m["roc_auc"] == [1.0, 1.0]


def test_an_all_zero_forecast_beats_no_reference():
    scores, _ = score_by_lead_bin(_hand_made(np.zeros(8)), Y, LEAD, lead_bins(12), THRESHOLDS)
    m = scores["model"]
    assert m["bss_never_wet"] == [0.0, 0.0]  # it IS never-wet
    # Brier 0.25 | 0.5 against the references' (see the hand-worked test above)
    assert m["brier_skill"] == pytest.approx([-1 / 3, -1.0])
    assert m["bss_climatology_month"] == pytest.approx([-1 / 3, -0.6])
    assert m["bss_issue_time_baseline"] == pytest.approx([0.0, -1.0])
    assert m["pod_yellow"] == [0.0, 0.0] and m["csi_yellow"] == [0.0, 0.0]


# ------------------------------------------------------------- evaluate() on a world

class _Constant:
    """A stand-in booster forecasting one probability everywhere (its skill is known)."""

    def __init__(self, p: float) -> None:
        self.p = p

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.full(len(x), self.p)


@pytest.fixture(scope="module")
def world_holdout():
    """The small world's periods and screen, as training would set them (no training)."""
    inputs, static = small_world()
    config = small_model_config()
    issues = inputs.issue_times()
    periods = split_periods(issues, pd.Timestamp(inputs.observed_end()), holdout_days=60,
                            validation_fraction=0.2, gap_hours=120, max_lead_h=48)
    screen = screen_settings(inputs, config, (issues[0], periods.validation[1]))
    return inputs, static, periods, screen


def test_evaluate_counts_its_cases_and_an_all_zero_model_has_no_skill(world_holdout):
    inputs, static, periods, screen = world_holdout
    # a small reference (40 rounds): it is scored, not judged, here
    ev = evaluate(_Constant(0.0), inputs, static, holdout=periods.holdout, train=periods.train,
                  screen=screen, thresholds=THRESHOLDS, n_cells=120, issue_step_h=48,
                  with_events=False, baseline_rounds=40)
    m, never = ev["scores"]["model"], ev["scores"]["never_wet"]
    assert ev["lead_bins"] == [c["bin"] for c in ev["cases"]]
    assert len(ev["lead_bins"]) + len(ev["bins_without_cases"]) == 8
    assert sum(c["cases"] for c in ev["cases"]) == ev["n_rows"]
    assert sum(c["wet"] for c in ev["cases"]) == ev["n_wet"] > 0
    assert ev["n_cells"] == 120 and ev["n_issues"] >= 2
    assert ev["references"] == ["never_wet", "climatology_month", "issue_time_baseline"]
    # never-wet's Brier is the bin's wet share: the scores are of the counted cases
    for c, b in zip(ev["cases"], never["brier"], strict=True):
        assert b == pytest.approx(c["wet"] / c["cases"])
    # the all-zero model is never-wet: no skill against it
    assert m["brier"] == pytest.approx(never["brier"])
    assert m["bss_never_wet"] == [0.0] * len(ev["cases"])  # exactly: not 1e-8 of "skill"
    # this hold-out is drier than the training period: zero scores better than the
    # climatologies here, so "beats climatology" alone would let it through; the verdict
    # and the gate also ask for skill over never-wet, and refuse it
    assert verdict(ev)["beats_references_bss"]["never_wet"] is False
    assert not verdict(ev)["last_bin_above_every_reference"]
    failures = gate_failures({"evaluation": ev})
    assert not model_passes_gate({"evaluation": ev})
    assert any(f.startswith("not better than never_wet") for f in failures), failures
