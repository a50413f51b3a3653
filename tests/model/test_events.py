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


class _Labels:
    """Labels of two cells made in code: the interface observed_flooding reads."""

    def __init__(self, start: pd.Timestamp, wet: np.ndarray):
        self.start, self.wet = start, wet  # wet: (hour, cell) 1/0/-1

    def labels(self, times, cells):
        rows = ((pd.DatetimeIndex(times) - self.start) // pd.Timedelta(hours=1)).to_numpy()
        return self.wet[rows][:, cells]


def test_water_standing_longer_than_three_days_is_no_new_flood_but_a_second_flood_is():
    """A cell wet for 10 days counts for its first 72 h only; after one dry hour, the same
    cell flooding again is a new event (a wet autumn is not one months-long event)."""
    from wetindex.model.events import NEW_WATER_H, observed_flooding

    start = T0 - pd.Timedelta(hours=NEW_WATER_H)
    n = NEW_WATER_H + 400
    wet = np.zeros((n, 1), "int8")
    wet[NEW_WATER_H + 10:NEW_WATER_H + 250, 0] = 1  # 240 h of water from hour 10
    wet[NEW_WATER_H + 251:NEW_WATER_H + 260, 0] = 1  # one dry hour, then again
    hours = pd.date_range(T0, periods=400, freq="h")
    flooded, _ = observed_flooding(_Labels(start, wet), np.array([0]), np.array([0]), 1, hours,
                                   normal=np.zeros((12, 1)), exposure=np.ones(1),
                                   cell_area=10_000.0)
    assert np.flatnonzero(flooded[:, 0]).tolist() == (list(range(10, 10 + NEW_WATER_H))
                                                      + list(range(251, 260)))
    events = flood_events(flooded[:, 0], flooded[:, 0].astype(float), hours)
    assert [e["onset"] for e in events] == [hours[10], hours[251]]


def test_water_standing_before_the_first_hour_is_not_new():
    """Labels before the scored hours are read: water that stood for days already is old."""
    from wetindex.model.events import NEW_WATER_H, observed_flooding

    start = T0 - pd.Timedelta(hours=NEW_WATER_H)
    wet = np.ones((NEW_WATER_H + 24, 1), "int8")
    flooded, _ = observed_flooding(_Labels(start, wet), np.array([0]), np.array([0]), 1,
                                   pd.date_range(T0, periods=24, freq="h"),
                                   normal=np.zeros((12, 1)), exposure=np.ones(1),
                                   cell_area=10_000.0)
    assert not flooded.any()


def test_scores_per_cause_count_sea_and_rain_events_and_warnings_apart():
    events, hours = _truth(60, 70)
    events["Polderen"][0]["cause"] = "sea"
    rain = {"onset": T0 + pd.Timedelta(hours=80), "end": T0 + pd.Timedelta(hours=85),
            "peak": T0 + pd.Timedelta(hours=82), "cause": "rain"}
    events["Bakkerne"] = [rain]
    hours["Bakkerne"] = set(pd.date_range(rain["onset"], rain["end"], freq="h"))
    levels = _levels(T0 + pd.Timedelta(hours=62), T0 + pd.Timedelta(hours=70), 2, from_issue=5)
    causes = np.full((len(ISSUES), 2), "rain")
    causes[:, 0] = "sea"
    ev = verify_events(events, levels, ISSUES, PLACES, hours, warning_causes=causes)
    by = ev["levels"]["orange"]["by_cause"]
    assert by["sea"]["n_events"] == 1 and by["sea"]["pod"] == 1.0
    assert by["sea"]["median_lead_h"] == 30.0
    assert by["rain"]["n_events"] == 1 and by["rain"]["pod"] == 0.0
    assert by["sea"]["n_warnings"] == ev["levels"]["orange"]["n_warnings"] > 0
    assert by["sea"]["far"] == 0.0


def test_a_case_study_follows_the_storm_at_the_place_it_flooded():
    """The storm is found in the observed sea level, named by its date, and followed at
    the place that flooded (not the other), issue by issue up to the storm's end."""
    import xarray as xr

    from wetindex.model.events import case_studies

    n = 24 * 20
    time = pd.date_range(T0 - pd.Timedelta(days=10), periods=n, freq="h")
    sea = np.linspace(0.0, 0.5, n)
    storm_at = T0 + pd.Timedelta(hours=60)
    sea[(time >= storm_at) & (time < storm_at + pd.Timedelta(hours=6))] = 3.0
    observed = xr.Dataset({"sea_level": ("time", sea), "rain": ("time", np.zeros(n))},
                          coords={"time": time})
    area = np.zeros((len(HOURS), 2))
    area[(HOURS >= storm_at + pd.Timedelta(hours=2)) & (HOURS < storm_at + pd.Timedelta(hours=9)),
         0] = 30_000.0  # 3 ha in Polderen
    levels = _levels(storm_at, storm_at + pd.Timedelta(hours=8), 2, from_issue=6)
    scores = levels.astype("float32") * 0.3
    out = case_studies(observed, ISSUES, PLACES, levels, scores, area, HOURS,
                       thresholds=(0.2, 0.5, 0.8), holdout=(T0, HOURS[-1]))
    assert len(out) == 1
    case = out[0]
    assert case["name"] == f"sea storm of {storm_at:%Y-%m-%d}" and case["place"] == "Polderen"
    assert case["first_flood"] == (storm_at + pd.Timedelta(hours=2)).isoformat()
    first = case["issues"][0]
    assert first["issue_time"] == T0.isoformat()  # the first issue within 72 h before
    assert first["level_max"] == "none" and first["flood_from_h"] is None
    by_issue = {r["issue_time"]: r for r in case["issues"]}
    r36 = by_issue[ISSUES[6].isoformat()]  # issued 24 h before the storm, warned orange
    assert r36["level_max"] == "orange" and r36["orange_from_h"] == 24
    assert r36["flood_from_h"] == 26 and r36["flooded_ha_max"] == 3.0


def test_a_flooded_forest_is_a_yellow_event_and_not_a_missed_orange_one():
    """Severity from the observed score (new water × exposure): 2 ha of forest (0.3) under
    water reach yellow (0.2) but not orange (0.4); 2 ha of houses (1.0) reach red. Orange's
    POD counts the houses only; a forecast warning both at yellow hits both events."""
    from wetindex.model.events import NEW_WATER_H, observed_flooding, set_severity

    start = T0 - pd.Timedelta(hours=NEW_WATER_H)
    wet = np.zeros((NEW_WATER_H + len(HOURS), 2), "int8")
    wet[NEW_WATER_H + 60:NEW_WATER_H + 70, :] = 1
    severity: dict = {}
    flooded, area = observed_flooding(_Labels(start, wet), np.array([0, 1]), np.array([0, 1]), 2,
                                      HOURS, normal=np.zeros((12, 2)),
                                      exposure=np.array([1.0, 0.3]), cell_area=20_000.0,
                                      thresholds=(0.2, 0.4, 0.7), severity=severity)
    events = {p: flood_events(flooded[:, i], area[:, i], HOURS) for i, p in enumerate(PLACES)}
    set_severity(events, PLACES, severity["level_area"], HOURS, 10_000.0)
    assert events["Polderen"][0]["level"] == 3 and events["Bakkerne"][0]["level"] == 1
    hours = {p: set(HOURS[flooded[:, i]]) for i, p in enumerate(PLACES)}
    levels = _levels(T0 + pd.Timedelta(hours=60), T0 + pd.Timedelta(hours=70), 1, from_issue=5)
    levels[:, 1] = levels[:, 0]
    ev = verify_events(events, levels, ISSUES, PLACES, hours)
    assert ev["levels"]["yellow"]["n_events"] == 2 and ev["levels"]["yellow"]["pod"] == 1.0
    assert ev["levels"]["orange"]["n_events"] == 1 and ev["levels"]["orange"]["pod"] == 0.0
    assert ev["levels"]["orange"]["events"][0]["place"] == "Polderen"


# Satellite passes at 05 and 17 UTC: the only hours at which the truth is known.
PASSES = HOURS[np.isin(HOURS.hour, (5, 17))]


def test_two_passes_that_both_see_water_are_one_event_not_two():
    flooded = np.isin(HOURS, PASSES[4:6])  # water seen at 05 and at 17 UTC on day 3
    area = flooded.astype(float)
    assert len(flood_events(flooded, area, HOURS, known=HOURS.isin(PASSES))) == 1
    # the same two sightings with every hour between them seen dry are two floods
    assert len(flood_events(flooded, area, HOURS)) == 2


def test_a_warning_no_pass_can_see_is_unverifiable_not_false():
    events = {"Polderen": [], "Bakkerne": []}
    hours = {"Polderen": set(), "Bakkerne": set()}
    # warned 09:00–13:00 on day 2: no pass inside the window ± 3 h
    between = _levels(T0 + pd.Timedelta(hours=33), T0 + pd.Timedelta(hours=37), 2, from_issue=0)
    ev = verify_events(events, between, ISSUES, PLACES, hours, labelled=PASSES)
    assert ev["levels"]["orange"]["n_warnings"] == 0
    assert ev["levels"]["orange"]["unverifiable_warnings"] > 0
    # with a pass at 17:00 inside it, the same dry warning is false
    wider = _levels(T0 + pd.Timedelta(hours=33), T0 + pd.Timedelta(hours=41), 2, from_issue=0)
    ev = verify_events(events, wider, ISSUES, PLACES, hours, labelled=PASSES)
    assert ev["levels"]["orange"]["false_warnings"] == ev["levels"]["orange"]["n_warnings"] > 0
    # every hour labelled: all of them are judged
    ev = verify_events(events, between, ISSUES, PLACES, hours)
    assert ev["levels"]["orange"]["unverifiable_warnings"] == 0
    assert ev["levels"]["orange"]["false_warnings"] > 0


def test_an_issue_time_whose_horizon_no_pass_sees_is_not_counted_quiet():
    events = {"Polderen": [], "Bakkerne": []}
    hours = {"Polderen": set(), "Bakkerne": set()}
    nothing = np.zeros((len(ISSUES), 2, 48), "int8")
    ev = verify_events(events, nothing, ISSUES, PLACES, hours, labelled=PASSES[:2])
    # only the issue times before the second pass (the first day at 17:00) see a label
    assert ev["quiet_issues"] == int((ISSUES < PASSES[1]).sum())
