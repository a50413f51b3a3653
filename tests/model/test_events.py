"""Event-level verification per place, on hourly truth and forecast levels made in code."""

from __future__ import annotations

import numpy as np
import pandas as pd

from wetindex.model.events import flood_events, verify_events

T0 = pd.Timestamp("2026-01-01T00:00")
HOURS = pd.date_range(T0, periods=24 * 6, freq="h")
ISSUES = pd.date_range(T0, periods=16, freq="6h")  # every 6 h for 4 days
PLACES = ["Polderen", "Bakkerne"]


def _truth(onset_h: int, end_h: int):
    flooded = np.zeros(len(HOURS), bool)
    flooded[onset_h:end_h + 1] = True
    area = np.where(flooded, 1.0, 0.0)
    area[onset_h + 3] = 5.0  # the peak, 3 h after the onset
    events = {"Polderen": flood_events(flooded, area, HOURS), "Bakkerne": []}
    hours = {"Polderen": set(HOURS[flooded]), "Bakkerne": set()}
    return events, hours


def _levels(warn_onset: pd.Timestamp, warn_end: pd.Timestamp, level: int, from_issue: int,
            place: int = 0):
    out = np.zeros((len(ISSUES), len(PLACES), 48), dtype="int8")
    for i, issue in enumerate(ISSUES[from_issue:], start=from_issue):
        for lead in range(1, 49):
            if warn_onset <= issue + pd.Timedelta(hours=lead) <= warn_end:
                out[i, place, lead - 1] = level
    return out


def test_a_surge_warned_30_h_ahead_is_a_hit_with_its_lead_and_timing():
    events, hours = _truth(60, 70)  # flooding from +60 h to +70 h
    levels = _levels(T0 + pd.Timedelta(hours=62), T0 + pd.Timedelta(hours=70), 2, from_issue=5)
    ev = verify_events(events, levels, ISSUES, PLACES, hours)
    orange = ev["levels"]["orange"]
    assert orange["n_events"] == 1 and orange["hits"] == 1 and orange["pod"] == 1.0
    assert orange["median_lead_h"] == 30.0  # first warned by the 30:00 issue
    assert orange["median_onset_error_h"] == 2.0  # warned onset 2 h late
    assert orange["median_peak_error_h"] == -1.0  # warned peak at the warned onset (+62 h)
    assert orange["false_warnings"] == 0
    assert ev["levels"]["red"]["hits"] == 0  # never red: a miss at red


def test_an_all_zero_forecast_misses_everything_and_warns_nothing():
    events, hours = _truth(60, 70)
    ev = verify_events(events, np.zeros((len(ISSUES), 2, 48), "int8"), ISSUES, PLACES, hours)
    assert ev["levels"]["yellow"]["pod"] == 0.0 and ev["levels"]["yellow"]["n_warnings"] == 0
    assert np.isnan(ev["levels"]["yellow"]["far"])
    assert ev["quiet_without_warning"] == 1.0


def test_warnings_where_nothing_floods_are_false_and_spoil_quiet_times():
    events, hours = _truth(60, 70)
    hills = _levels(T0 + pd.Timedelta(hours=10), T0 + pd.Timedelta(hours=20), 3,
                    from_issue=0, place=1)
    ev = verify_events(events, hills, ISSUES, PLACES, hours)
    red = ev["levels"]["red"]
    assert red["n_warnings"] == red["false_warnings"] == 4  # issues at 0, 6, 12 and 18 h
    assert red["far"] == 1.0 and ev["per_place"]["Bakkerne"]["false_red"] == 4
    assert ev["quiet_without_warning"] < 1.0
