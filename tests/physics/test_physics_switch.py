"""Which method is live, archived forecasts from a file, and the event comparison."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from wetindex.physics.compare import (
    Event,
    false_warning,
    learned_should_take_over,
    score_event,
    summarise,
    warns,
)
from wetindex.physics.selection import choose_method
from wetindex.sources.base import InputMissingError
from wetindex.sources.forecast_file import read_forecast_file, with_archived


class _Model:
    def __init__(self, metadata):
        self.metadata = metadata
        self.version = "v1"


def test_auto_uses_the_learned_model_only_once_it_has_passed_its_gate():
    assert choose_method("auto", None)[0] == "physical"
    def scored(model_brier: float) -> _Model:  # the gate of wetindex.modelgate
        return _Model({"evaluation": {"lead_bins": ["0-24"], "scores": {
            "model": {"brier": [model_brier]}, "never_wet": {"brier": [0.05]}}}})

    failed = scored(0.3)
    method, why = choose_method("auto", failed)
    assert method == "physical" and "not better than never_wet" in why
    assert choose_method("auto", scored(0.01))[0] == "learned"
    assert choose_method("auto", _Model({}))[0] == "physical"  # never evaluated
    assert choose_method("physical", scored(0.01))[0] == "physical"
    assert choose_method("learned", failed)[0] == "learned"  # the operator's choice
    with pytest.raises(ValueError, match="no trained model"):
        choose_method("learned", None)
    with pytest.raises(ValueError, match="auto, physical, learned"):
        choose_method("best", None)


def _persistence(issues, leads=4):
    issues = pd.DatetimeIndex(issues)
    values = np.full((len(issues), leads), 0.5, "float32")
    return xr.Dataset({"sea_level": (("issue_time", "lead"), values.copy()),
                       "rain": (("issue_time", "lead"), values * 0)},
                      coords={"issue_time": issues.values, "lead": np.arange(1, leads + 1)})


def test_archived_forecasts_replace_persistence_where_the_file_has_them(tmp_path: Path):
    path = tmp_path / "forecast.csv"
    path.write_text("issue_time,time,sea_level\n"
                    "2026-01-05T06:00Z,2026-01-05T07:00Z,1.0\n"
                    "2026-01-05T06:00Z,2026-01-05T08:00Z,2.5\n"
                    "2026-01-05T06:00Z,2026-01-05T06:00Z,9.9\n")  # lead 0: not a forecast
    archive = read_forecast_file(path)
    ds = with_archived(_persistence(["2026-01-05T03:00", "2026-01-05T06:00"]), archive)
    assert ds["sea_level"].values[1].tolist() == [1.0, 2.5, 0.5, 0.5]  # leads 3-4: persistence
    assert ds["sea_level"].values[0].tolist() == [0.5] * 4  # not in the file
    assert ds["rain"].values.max() == 0.0  # a driver the file lacks keeps persistence
    assert ds.attrs["forecast_kind"] == "archived where issued, else persistence"
    bad = tmp_path / "bad.csv"
    bad.write_text("time,sea_level\n2026-01-05T07:00Z,1\n")
    with pytest.raises(InputMissingError, match="issue_time"):
        read_forecast_file(bad)


def test_an_event_is_warned_only_by_forecasts_issued_before_its_onset():
    onset = pd.Timestamp("2026-02-01T12:00")
    event = Event("surge", onset, onset + pd.Timedelta(hours=6), np.arange(30))
    prob = np.zeros((48, 100))
    early = onset - pd.Timedelta(hours=20)
    prob[20:26, :30] = 0.6  # leads 21-26: 12:00 onwards from the early issue
    assert warns(event, early, prob)
    assert not warns(event, onset, prob)  # issued at the onset: too late to count
    weak = prob.copy()
    weak[:, 5:] = 0.0  # orange on too few of its cells
    assert not warns(event, early, weak)
    score = score_event(event, [early, onset - pd.Timedelta(hours=6)])
    assert score["warned"] and score["lead_h"] == 20.0
    assert not score_event(event, [])["warned"]
    wet_before = np.zeros(100, bool)
    wet_before[:10] = True  # already standing at the issue time: not a forecast of it
    assert not warns(event, early, prob, wet_before)
    wide = np.zeros((48, 300))
    wide[20:26, :200] = 0.6
    assert false_warning(wide, np.zeros((48, 300), bool), np.zeros(300, bool))
    assert not false_warning(wide, wide > 0, np.zeros(300, bool))


def test_the_learned_model_takes_over_only_when_it_is_no_worse_on_enough_events():
    def s(pod, far, events=4):
        return {"surge": {"events": events, "pod": pod}, "rain": {"events": events, "pod": pod},
                "false_warning_rate": far, "quiet_issues": 20}

    assert learned_should_take_over(s(1.0, 0.1), s(1.0, 0.1))[0]
    assert not learned_should_take_over(s(1.0, 0.1), s(0.75, 0.0))[0]
    assert not learned_should_take_over(s(1.0, 0.1), s(1.0, 0.2))[0]
    ok, why = learned_should_take_over(s(1.0, 0.1, events=1), s(1.0, 0.0, events=1))
    assert not ok and "too few verified events" in why
    summary = summarise([{"kind": "surge", "warned": True, "lead_h": 20.0},
                         {"kind": "surge", "warned": False, "lead_h": None}], 1, 10)
    assert summary["surge"] == {"events": 2, "warned": 1, "pod": 0.5, "median_lead_h": 20.0}
    assert summary["false_warning_rate"] == 0.1
