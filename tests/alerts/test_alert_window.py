"""An alert's window: the covering warning's when the levels agree, else the same rule
(:func:`wetindex.risk.warning_timeline`) on the subscriber's own hours."""

from __future__ import annotations

from datetime import timedelta

from alert_fixtures import ISSUE, make_forecast, make_subscription, make_warning

from wetindex.alerts.engine import AlertStore, area_risk, decide, run_alerts
from wetindex.alerts.outbox import Outbox

# the subscribed block: yellow from +3 h, orange from +6 h, red +9 h and +10 h, yellow to +12 h
RISE = [0.0] * 2 + [0.3] * 3 + [0.5] * 3 + [0.8] * 2 + [0.3] * 2 + [0.0] * 36


def test_own_hours_give_from_at_the_level_earlier_levels_and_until():
    sub = make_subscription()
    _, d = decide(None, area_risk(make_forecast(RISE), sub), sub, issue_time=ISSUE)
    assert d.level == 3
    assert d.onset == ISSUE + timedelta(hours=9)  # the first red hour, not the first yellow
    assert d.level_from == {"yellow": ISSUE + timedelta(hours=3),
                            "orange": ISSUE + timedelta(hours=6),
                            "red": ISSUE + timedelta(hours=9)}
    assert d.expires == ISSUE + timedelta(hours=13) and not d.beyond_horizon


def test_a_subscriber_with_a_higher_floor_gets_their_level_by_the_same_rule():
    sub = make_subscription(min_level=2)
    _, d = decide(None, area_risk(make_forecast(RISE), sub), sub, issue_time=ISSUE)
    # yellow is not theirs: the window starts at orange's first hour before the red
    assert d.level == 3 and "yellow" not in d.level_from
    assert d.level_from["orange"] == ISSUE + timedelta(hours=6)
    assert d.expires == ISSUE + timedelta(hours=11)  # the last hour at orange or above


def test_still_warned_in_the_last_hour_is_beyond_the_horizon():
    sub = make_subscription()
    _, d = decide(None, area_risk(make_forecast([0.0] * 40 + [0.5] * 8), sub), sub,
                  issue_time=ISSUE)
    assert d.level == 2 and d.beyond_horizon and d.expires == ISSUE + timedelta(hours=49)


def test_the_covering_warning_at_the_same_level_gives_its_window(tmp_path):
    outbox = Outbox(f"sqlite:///{tmp_path / 'a.db'}")
    warning = make_warning(level=2, onset_h=5, hours=9)
    (d,) = run_alerts(make_forecast(0.55), [make_subscription()], AlertStore(outbox), outbox,
                      issue_time=ISSUE, site_url="https://x.dk/", warnings=[warning], now=ISSUE)
    assert d.level == warning.level
    assert (d.onset, d.peak_time, d.expires) == (warning.onset, warning.peak_time,
                                                 warning.expires)
    assert d.level_from == warning.level_from
