"""The alert state machine: area risk, escalation, hysteresis, dwell, all-clear, idempotency."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from alert_fixtures import GRID, ISSUE, level_of, make_forecast, make_subscription, make_warning
from shapely import box

from wetindex.alerts.engine import AlertStore, area_risk, decide, run_alerts
from wetindex.alerts.outbox import Outbox

SITE = "https://varsler.example.dk/"


def _hours(h: float):
    return ISSUE + timedelta(hours=h)


def _sequence(probabilities, sub=None, *, step_h=1, **kw):
    """Run ``decide`` over hourly forecasts; returns the decisions (None when silent)."""
    sub = sub or make_subscription()
    state, decisions = None, []
    for i, p in enumerate(probabilities):
        risk = area_risk(make_forecast(p, issue_time=_hours(i * step_h)), sub)
        state, decision = decide(state, risk, sub, issue_time=_hours(i * step_h), **kw)
        decisions.append(decision)
    return state, decisions


def test_area_risk_reads_the_area_cells_and_lead_window():
    per_lead = np.full(48, 0.1)
    per_lead[5] = 0.45   # lead 6: orange
    per_lead[29] = 0.8   # lead 30: red, beyond a 24 h horizon
    forecast = make_forecast(per_lead.tolist())
    near = area_risk(forecast, make_subscription(max_lead_h=24))
    assert near.probability == pytest.approx(0.45) and near.level == 2
    assert near.valid_time == _hours(6) and near.peak_time == _hours(6)
    assert near.cells == 36 and near.thresholds == {1: 0.2, 2: 0.4, 3: 0.7}
    far = area_risk(forecast, make_subscription())
    assert far.probability == pytest.approx(0.8) and far.level == 3
    assert far.valid_time == _hours(30)


def test_area_risk_all_touched_picks_up_a_thin_dike_line():
    # a 2 m wide strip inside one row of 10 m cells still touches them
    dike = box(540200.0, 6330203.0, 540260.0, 6330205.0)
    risk = area_risk(make_forecast(0.5), make_subscription(geometry=dike))
    assert risk.cells == 6 and risk.probability == pytest.approx(0.5)


def test_area_outside_grid_is_named():
    far = make_subscription("weit-weg", geometry=box(600000, 6400000, 600100, 6400100))
    with pytest.raises(ValueError, match=r"'weit-weg'.*does not intersect"):
        area_risk(make_forecast(0.5), far)


def test_escalation_goes_out_at_once():
    _, decisions = _sequence([0.05, 0.25, 0.45, 0.75])
    kinds = [(d.kind, d.level, d.revision) if d else None for d in decisions]
    assert kinds == [None, ("alert", 1, 1), ("update", 2, 2), ("update", 3, 3)]
    assert len({d.event_id for d in decisions if d}) == 1
    assert decisions[1].onset == _hours(1 + 1)  # first valid time at yellow: issue + 1 h


def test_flickering_forecast_yields_one_alert():
    flicker = [0.42, 0.38] * 5  # around the orange threshold 0.4, within the hysteresis
    state, decisions = _sequence(flicker)
    sent = [d for d in decisions if d]
    assert [(d.kind, d.level) for d in sent] == [("alert", 2)]
    assert state.level == 2


def test_wide_flicker_is_held_by_the_dwell_time():
    # 0.45 ↔ 0.30 crosses the hysteresis band every hour; dwell 6 h limits the changes
    _state, decisions = _sequence([0.45, 0.30] * 6)
    sent = [(d.kind, d.level) for d in decisions if d]
    assert sent == [("alert", 2), ("update", 1), ("update", 2)]


def test_deescalation_needs_hysteresis_and_dwell():
    # orange at 0 h; 0.37 stays orange (above 0.40 - 0.05) however long it lasts
    _, decisions = _sequence([0.5] + [0.37] * 9)
    assert [d.kind for d in decisions if d] == ["alert"]
    # 0.30 is below the band, but only after 6 h of orange does it step down to yellow
    state, decisions = _sequence([0.5, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3])
    changes = [(i, d.kind, d.level) for i, d in enumerate(decisions) if d]
    assert changes == [(0, "alert", 2), (6, "update", 1)]
    assert state.level == 1 and state.since == _hours(6)


def test_all_clear_when_risk_ends_then_a_new_event():
    _state, decisions = _sequence([0.8, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.5])
    changes = [(i, d.kind, d.level, d.revision) for i, d in enumerate(decisions) if d]
    assert changes == [(0, "alert", 3, 1), (6, "all_clear", 0, 2), (8, "alert", 2, 1)]
    first, clear, again = (d for d in decisions if d)
    assert first.event_id == clear.event_id != again.event_id
    assert clear.idempotency_key == f"digelag-1:{first.event_id}:2"


def test_subscriber_threshold_and_min_level():
    # orange-only subscriber: yellow risk says nothing, orange alerts, yellow later clears
    sub = make_subscription(min_level=2)
    _, decisions = _sequence([0.3, 0.45, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3], sub)
    assert [(i, d.kind, d.level) for i, d in enumerate(decisions) if d] == [
        (1, "alert", 2), (7, "all_clear", 0)]
    # a floor of 0.5: orange from 0.5, not from 0.4
    sub = make_subscription(min_probability=0.5)
    _, decisions = _sequence([0.45, 0.55], sub)
    assert [(i, d.level) for i, d in enumerate(decisions) if d] == [(1, 2)]


def test_replayed_forecast_changes_nothing():
    sub = make_subscription()
    risk = area_risk(make_forecast(0.5), sub)
    state, decision = decide(None, risk, sub, issue_time=ISSUE)
    again, none = decide(state, risk, sub, issue_time=ISSUE)
    assert decision is not None and none is None and again == state


def _db(tmp_path):
    outbox = Outbox(f"sqlite:///{tmp_path / 'alerts.db'}")
    return AlertStore(outbox), outbox


def test_run_alerts_writes_state_and_outbox_and_is_idempotent(tmp_path):
    store, outbox = _db(tmp_path)
    subs = [make_subscription("a"), make_subscription("b", language="en", min_level=3)]
    forecast = make_forecast(0.5)
    decisions = run_alerts(forecast, subs, store, outbox, issue_time=ISSUE, site_url=SITE,
                           warnings=[make_warning()])
    assert [(d.subscription_id, d.kind) for d in decisions] == [("a", "alert")]
    (row,) = outbox.messages()
    assert row.idempotency_key == f"a:{decisions[0].event_id}:1" and row.channel == "email"
    assert row.recipient == "a@example.dk"
    assert store.get("a").level == 2 and store.get("b").level == 0
    # the same forecast processed again: no new rows, same state
    assert run_alerts(forecast, subs, store, outbox, issue_time=ISSUE, site_url=SITE) == []
    assert len(outbox.messages()) == 1
    # a fresh store/outbox on the same database (a restarted process) agrees
    store2, outbox2 = _db(tmp_path)
    assert run_alerts(forecast, subs, store2, outbox2, issue_time=ISSUE, site_url=SITE) == []
    assert len(outbox2.messages()) == 1


def test_flickering_forecast_through_run_alerts_makes_one_outbox_row(tmp_path):
    store, outbox = _db(tmp_path)
    sub = make_subscription()
    for i, p in enumerate([0.42, 0.38] * 5):
        run_alerts(make_forecast(p, issue_time=_hours(i)), [sub], store, outbox,
                   issue_time=_hours(i), site_url=SITE)
    assert len(outbox.messages()) == 1


def test_one_bad_area_does_not_hold_back_the_others(tmp_path):
    store, outbox = _db(tmp_path)
    bad = make_subscription("bad", geometry=box(600000, 6400000, 600100, 6400100))
    with pytest.raises(ValueError, match="'bad'"):
        run_alerts(make_forecast(0.5), [bad, make_subscription("good")], store, outbox,
                   issue_time=ISSUE, site_url=SITE)
    assert [m.subscription_id for m in outbox.messages()] == ["good"]


def test_store_and_outbox_must_share_a_database(tmp_path):
    store = AlertStore(f"sqlite:///{tmp_path / 'state.db'}")
    outbox = Outbox(f"sqlite:///{tmp_path / 'outbox.db'}")
    with pytest.raises(ValueError, match="share one database"):
        run_alerts(make_forecast(0.5), [make_subscription()], store, outbox, issue_time=ISSUE,
                   site_url=SITE)


def test_a_few_hot_cells_do_not_make_a_subscribers_area_red_one_hectare_does():
    """The site's rule: a level needs 1 ha of the area (here 100 cells of 10 m), so the
    e-mail cannot say red where the site's place says orange."""
    big = make_subscription(geometry=box(540000.0, 6330000.0, 540300.0, 6330300.0))  # 9 ha
    prob = np.full((48, GRID.ny, GRID.nx), 0.5, dtype="float32")  # orange everywhere
    ds = make_forecast(0.5)
    prob[:, 25:30, 5:15] = 0.9  # 50 red cells inside the area: half a hectare
    ds["probability"].values[:] = prob
    ds["level"].values[:] = level_of(prob)
    risk = area_risk(ds, big)
    assert risk.level == 2 and max(risk.probability_by_lead) == pytest.approx(0.5)
    prob[:, 25:35, 5:15] = 0.9  # 100 red cells: 1 ha
    ds["probability"].values[:] = prob
    ds["level"].values[:] = level_of(prob)
    assert area_risk(ds, big).level == 3
