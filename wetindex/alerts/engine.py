"""The alert state machine: from a forecast to decisions per subscription.

Each subscription is in one state: none, yellow, orange or red, judged at the
subscriber's own thresholds (:func:`subscriber_thresholds`). Per forecast run:

* escalation (a higher level) goes out at once;
* de-escalation waits until the probability is below the current level's threshold
  minus ``hysteresis`` **and** the state has lasted ``min_dwell_h``; it then drops to
  the level the probability holds with the same hysteresis;
* dropping to none is an explicit all-clear;
* anything else (same level, a probability wiggle) sends nothing, so a flickering
  forecast does not flap;
* a forecast not newer than the last one processed changes nothing.

:func:`run_alerts` stores the new state and the messages it implies in one
transaction (see :mod:`wetindex.alerts.outbox`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from pyproj import CRS
from rasterio.features import rasterize
from shapely.geometry import shape

from wetindex.alerts.decision import AlertDecision
from wetindex.alerts.email import render_email
from wetindex.alerts.messages import as_utc
from wetindex.alerts.outbox import Outbox
from wetindex.alerts.sms import render_sms
from wetindex.alerts.store import AlertState, AlertStore
from wetindex.alerts.subscriptions import Subscription, reproject
from wetindex.grid import AreaGrid
from wetindex.risk import MIN_AREA_M2, place_hourly_levels, place_hourly_score, warning_timeline
from wetindex.warnings import LEVEL_NAMES, WarningArea

__all__ = [
    "AlertDecision",
    "AlertState",
    "AlertStore",
    "AreaRisk",
    "area_risk",
    "decide",
    "run_alerts",
]

_LEVEL_CODES = {name: code for code, name in LEVEL_NAMES.items()}


def _utc(value: Any) -> datetime:
    return as_utc(pd.Timestamp(value).to_pydatetime())


def forecast_thresholds(forecast: xr.Dataset) -> dict[int, float]:
    """Level → probability threshold from the forecast's ``thresholds`` attribute (JSON)."""
    raw = forecast.attrs.get("thresholds")
    if raw is None:
        raise ValueError(
            "forecast: attrs['thresholds'] is missing; it must be JSON like "
            '{"yellow": 0.2, "orange": 0.4, "red": 0.7}'
        )
    named = json.loads(raw) if isinstance(raw, str) else dict(raw)
    try:
        thresholds = {_LEVEL_CODES[name]: float(value) for name, value in named.items()}
    except KeyError as exc:
        raise ValueError(f"forecast: unknown level {exc} in attrs['thresholds']") from None
    if sorted(thresholds) != [1, 2, 3] or not (thresholds[1] < thresholds[2] < thresholds[3]):
        raise ValueError(
            f"forecast: attrs['thresholds'] {named} needs increasing yellow < orange < red"
        )
    return thresholds


def subscriber_thresholds(thresholds: dict[int, float], sub: Subscription) -> dict[int, float]:
    """The levels a subscriber hears about, with their probability thresholds.

    Levels below ``sub.min_level`` are dropped; ``sub.min_probability`` is a floor on
    every threshold (thresholds stay increasing, so the levels stay ordered).
    """
    floor = sub.min_probability or 0.0
    return {lv: max(t, floor) for lv, t in thresholds.items() if lv >= sub.min_level}


def level_for(probability: float, thresholds: dict[int, float], offset: float = 0.0) -> int:
    """The highest level whose threshold (minus ``offset``) ``probability`` reaches, else 0."""
    reached = [lv for lv, t in thresholds.items() if probability >= t - offset]
    return max(reached, default=0)


@dataclass(frozen=True)
class AreaRisk:
    """The forecast over one subscription's area.

    Attributes
    ----------
    subscription_id : str
    issue_time : datetime
    probability : float
        Highest probability over the area's cells and leads ≤ ``max_lead_h``.
    level : int
        Highest forecast ``level`` there.
    valid_time : datetime or None
        First valid time at that level (None when the level is 0).
    peak_time : datetime
        Valid time of the highest probability.
    probability_by_lead : tuple of float
        Highest probability over the area per lead time.
    valid_times : tuple of datetime
    thresholds : dict
        Level → probability threshold of the forecast area.
    cells : int
        Grid cells of the subscription's area.
    drivers : dict
        Driver shares of the overlapping warning (empty if none).
    area_name : str
    """

    subscription_id: str
    issue_time: datetime
    probability: float
    level: int
    valid_time: datetime | None
    peak_time: datetime
    probability_by_lead: tuple[float, ...]
    valid_times: tuple[datetime, ...]
    thresholds: dict[int, float]
    cells: int
    drivers: dict[str, float] = field(default_factory=dict)
    area_name: str = ""
    conditions: dict[str, Any] = field(default_factory=dict)

    def first_time_at(self, threshold: float) -> datetime | None:
        """First valid time with probability ≥ ``threshold``."""
        for p, t in zip(self.probability_by_lead, self.valid_times, strict=True):
            if p >= threshold:
                return t
        return None

    def last_time_at(self, threshold: float) -> datetime | None:
        """Last valid time with probability ≥ ``threshold`` (the end of the window)."""
        for p, t in zip(reversed(self.probability_by_lead), reversed(self.valid_times),
                        strict=True):
            if p >= threshold:
                return t
        return None


def area_risk(forecast: xr.Dataset, subscription: Subscription) -> AreaRisk:
    """Risk over a subscription's area: its cells (all touched) and leads ≤ ``max_lead_h``."""
    sub = subscription
    who = f"subscription {sub.id!r} ({sub.name})"
    grid_crs = forecast.rio.crs
    if sub.crs and grid_crs is not None and CRS.from_user_input(sub.crs) != grid_crs:
        raise ValueError(f"{who}: its geometry is in {sub.crs}, the forecast grid in {grid_crs}")
    grid = AreaGrid.from_dataarray(forecast["probability"])
    mask = rasterize([(sub.geometry, 1)], out_shape=grid.shape, transform=grid.transform,
                     all_touched=True, fill=0, dtype="uint8").astype(bool)
    if not mask.any():
        raise ValueError(
            f"{who}: its area {tuple(round(v) for v in sub.geometry.bounds)} does not intersect "
            f"the forecast grid {tuple(round(v) for v in grid.bounds)} ({grid_crs}); "
            "check the coordinates and their CRS"
        )
    # read only the window around the area: the forecast may be a large lazy cube
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    window = {"y": slice(rows[0], rows[-1] + 1), "x": slice(cols[0], cols[-1] + 1)}
    inside = mask[window["y"], window["x"]]
    leads = forecast["lead"].values <= sub.max_lead_h
    if not leads.any():
        raise ValueError(f"{who}: no forecast lead time ≤ max_lead_h={sub.max_lead_h}")
    part = forecast.isel(lead=np.flatnonzero(leads), **window)
    # levels come from the warning score (excess water against impact) when there is one
    score = "warning_score" if "warning_score" in part else "probability"
    prob = np.asarray(part[score].values, dtype="float64")[:, inside]
    level = np.asarray(part["level"].values)[:, inside]
    if np.isnan(prob).all():
        raise ValueError(f"{who}: the forecast has no values over its area (all NaN)")
    # the rule of the site's places (wetindex.risk): the area is at a level in an hour
    # when 1 ha of it is, and its score is the one 1 ha reaches; one hot cell does not
    # make a subscriber's whole area red. An area under 2 ha needs half of its cells
    # (its rasterised edge touches cells mostly outside it, so not all of them).
    min_cells = min(int(np.ceil(MIN_AREA_M2 / grid.cell_area)), max(1, prob.shape[1] // 2))
    every = np.ones(prob.shape[1], dtype=bool)
    prob_by_lead = np.nan_to_num(place_hourly_score(prob, every, min_cells), nan=0.0)
    prob_by_lead = prob_by_lead.clip(min=0.0)
    level_by_lead = place_hourly_levels(level, every, min_cells)
    valid_times = tuple(_utc(t) for t in part["valid_time"].values)
    top = int(level_by_lead.max())
    first = int(np.argmax(level_by_lead >= top)) if top > 0 else None
    return AreaRisk(
        subscription_id=sub.id,
        issue_time=_utc(forecast["issue_time"].values),
        probability=float(prob_by_lead.max()),
        level=top,
        valid_time=valid_times[first] if first is not None else None,
        peak_time=valid_times[int(np.argmax(prob_by_lead))],
        probability_by_lead=tuple(float(p) for p in prob_by_lead),
        valid_times=valid_times,
        thresholds=forecast_thresholds(forecast),
        cells=int(mask.sum()),
        area_name=str(forecast.attrs.get("area_name", "")),
    )


def decide(
    previous: AlertState | None,
    risk: AreaRisk,
    subscription: Subscription,
    *,
    issue_time: datetime,
    hysteresis: float = 0.05,
    min_dwell_h: int = 6,
    fresh: bool = True,
) -> tuple[AlertState, AlertDecision | None]:
    """The new state of a subscription and the message it needs, if any (pure).

    ``fresh=False`` (the forecast's inputs were stale or missing, or the run failed):
    only an escalation is acted on; a warning in force is neither lowered nor stood
    down, and its state is returned unchanged (its ``issue_time`` is the last fresh
    forecast's), so nothing stands down for want of data.
    """
    issue_time = as_utc(issue_time)
    if previous is not None and as_utc(previous.issue_time) >= issue_time:
        return previous, None  # replayed or older forecast: already handled
    thresholds = subscriber_thresholds(risk.thresholds, subscription)
    p = risk.probability
    current = previous.level if previous is not None else 0
    raw = level_for(p, thresholds)

    if raw > current:
        new = raw
    elif raw == current or p >= thresholds.get(current, math.inf) - hysteresis:
        new = current
    elif previous is not None and previous.since is not None and (
        issue_time - as_utc(previous.since) < timedelta(hours=min_dwell_h)
    ):
        new = current  # too soon to step down
    else:
        below = {lv: t for lv, t in thresholds.items() if lv < current}
        new = level_for(p, below, offset=hysteresis)

    if not fresh and previous is not None and previous.level > 0 and new <= current:
        return previous, None  # keep the warning in force until a fresh forecast

    if new == current:
        state = AlertState(
            subscription.id, current, previous.since if previous else None,
            previous.event_id if previous else None, previous.revision if previous else 0,
            p, issue_time,
        )
        return state, None

    if current == 0:
        kind, event_id, revision = "alert", issue_time.strftime("%Y%m%dT%H%MZ"), 1
    else:
        assert previous is not None and previous.event_id is not None
        kind = "update" if new > 0 else "all_clear"
        event_id, revision = previous.event_id, previous.revision + 1
    state = AlertState(subscription.id, new, issue_time, event_id, revision, p, issue_time)
    onset = end = peak = None
    level_from: dict[str, datetime] = {}
    beyond = False
    if new > 0:
        # the subscriber's hours at their own thresholds, through the one window rule
        hourly = np.minimum([level_for(p_h, thresholds) for p_h in risk.probability_by_lead],
                            new)
        timeline = warning_timeline(hourly, risk.valid_times, np.asarray(
            risk.probability_by_lead)) if risk.valid_times else None
        if timeline is not None and timeline["level"] == new:
            onset, end, peak = timeline["onset"], timeline["expires"], timeline["peak_time"]
            level_from, beyond = timeline["level_from"], timeline["beyond_horizon"]
        else:  # a level held by hysteresis that no hour reaches any more
            onset = risk.first_time_at(thresholds[new] - hysteresis) or risk.peak_time
            end = risk.last_time_at(min(thresholds.values()) - hysteresis)
            peak = risk.peak_time
            level_from = {LEVEL_NAMES[new]: onset}
    decision = AlertDecision(
        subscription_id=subscription.id, event_id=event_id, revision=revision, kind=kind,
        level=new, previous_level=current, probability=p, issue_time=issue_time,
        onset=onset, peak_time=peak,
        drivers=dict(risk.drivers), place=subscription.name, area_name=risk.area_name,
        expires=end, conditions=dict(risk.conditions) if new > 0 else {},
        level_from=level_from, beyond_horizon=beyond,
    )
    return state, decision


def _covering_warning(
    warnings: Sequence[WarningArea], subscription: Subscription, grid_crs: Any
) -> WarningArea | None:
    """The warning covering most of the subscription's area (None if none touches it).

    A dike association's polder often touches a neighbouring place's warning at its
    edge; the warning that covers the area itself explains the subscriber's risk.
    """
    if not warnings or grid_crs is None:
        return None
    overlaps = [(reproject(shape(w.geometry), "EPSG:4326", grid_crs).intersection(
        subscription.geometry).area, w) for w in warnings]
    overlaps = [(area, w) for area, w in overlaps if area > 0]
    if not overlaps:
        return None
    return max(overlaps, key=lambda aw: (aw[0], aw[1].level, aw[1].probability))[1]


def with_warning_window(decision: AlertDecision, warning: WarningArea) -> AlertDecision:
    """The decision with the covering warning's window, as on the site and in the feed.

    When the subscriber's level is the warning's level, its onset, peak, end, earlier
    levels and highest flood risk (``probability``, the warning score) are the
    warning's own (one computation: the e-mail, SMS and webhook then say what the
    site and the CAP message say; the state machine keeps the subscriber's own score).
    A subscriber at another level (their own thresholds) keeps the window of their
    level, with the warning's end.
    """
    if decision.level == warning.level:
        return replace(decision, onset=warning.onset, peak_time=warning.peak_time,
                       expires=warning.expires, level_from=dict(warning.level_from),
                       beyond_horizon=warning.beyond_horizon,
                       probability=warning.probability)
    return replace(decision, expires=warning.expires, beyond_horizon=warning.beyond_horizon)


def _warning_drivers(
    warnings: Sequence[WarningArea], subscription: Subscription, grid_crs: Any
) -> dict[str, float]:
    """Drivers of the warning covering most of the subscription's area."""
    warning = _covering_warning(warnings, subscription, grid_crs)
    return dict(warning.drivers) if warning is not None else {}


def _warning_conditions(warning: WarningArea | None) -> dict[str, Any]:
    """The covering warning's drivers in physical units (``WarningArea.conditions``, where
    the warnings carry them: rain in mm, high water in cm above DVR90 and its time, the
    margin to the dike crest), else empty."""
    return dict(getattr(warning, "conditions", None) or {}) if warning is not None else {}


def render_for_channel(
    channel: str, decision: AlertDecision, subscription: Subscription, *, site_url: str,
    unsubscribe_url: str,
) -> tuple[str | None, bytes]:
    """Recipient and message body of a decision for one channel."""
    if channel == "email":
        message = render_email(decision, subscription, site_url=site_url,
                               unsubscribe_url=unsubscribe_url)
        return subscription.email, message.as_bytes()
    # SMS and webhook targets are looked up (decrypted) at delivery, not kept in the outbox
    if channel == "sms":
        return None, render_sms(decision, subscription, site_url=site_url).encode("utf-8")
    payload = {"type": f"flood.{decision.kind}", "timestamp": decision.issue_time.isoformat(),
               "data": decision.to_dict() | {"level_name": LEVEL_NAMES[decision.level],
                                             "site_url": site_url}}
    return None, json.dumps(payload, ensure_ascii=False).encode("utf-8")


def default_unsubscribe_url(site_url: str) -> Callable[[Subscription], str]:
    return lambda sub: f"{site_url.rstrip('/')}/afmeld?abonnement={sub.id}"


def run_alerts(
    forecast: xr.Dataset,
    subscriptions: Sequence[Subscription],
    store: AlertStore,
    outbox: Outbox,
    *,
    issue_time: datetime | None = None,
    site_url: str,
    warnings: Sequence[WarningArea] = (),
    unsubscribe_url: Callable[[Subscription], str] | None = None,
    hysteresis: float = 0.05,
    min_dwell_h: int = 6,
    now: datetime | None = None,
    fresh: bool = True,
    held: dict[str, str] | None = None,
) -> list[AlertDecision]:
    """Decide for every subscription and queue its messages, state and outbox together.

    Each subscription is one transaction: its new state and one outbox row per
    channel (key ``f"{subscription.id}:{event_id}:{revision}"``). Subscriptions whose
    area cannot be evaluated are reported together in one ``ValueError`` after the
    others have been processed, so one bad area never holds back the rest.
    ``now`` is when the messages are queued and first due (default: the wall clock).
    ``fresh=False`` keeps every warning in force (see :func:`decide`); the ids of the
    subscriptions so held go into ``held`` with the issue time of the last fresh
    forecast they rest on.

    Returns
    -------
    list of AlertDecision
        The decisions made in this run (none for a forecast already processed).
    """
    if str(store.engine.url) != str(outbox.engine.url):
        raise ValueError(
            f"the alert store ({store.engine.url}) and the outbox ({outbox.engine.url}) "
            "must share one database, so state and messages commit together"
        )
    forecast_issue = (
        _utc(forecast["issue_time"].values) if "issue_time" in forecast.coords else None
    )
    if issue_time is None:
        if forecast_issue is None:
            raise ValueError("forecast: no issue_time coordinate; pass issue_time=")
        issue_time = forecast_issue
    elif forecast_issue is not None and as_utc(issue_time) != forecast_issue:
        raise ValueError(f"issue_time {issue_time} differs from the forecast's {forecast_issue}")
    unsubscribe = unsubscribe_url or default_unsubscribe_url(site_url)
    decisions, problems = [], []
    for sub in subscriptions:
        try:
            risk = area_risk(forecast, sub)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        covering = _covering_warning(warnings, sub, forecast.rio.crs)
        risk = replace(risk, drivers=dict(covering.drivers) if covering is not None else {},
                       conditions=_warning_conditions(covering))
        previous = store.get(sub.id)
        state, decision = decide(previous, risk, sub, issue_time=issue_time,
                                 hysteresis=hysteresis, min_dwell_h=min_dwell_h, fresh=fresh)
        if decision is not None and covering is not None and decision.level > 0:
            decision = with_warning_window(decision, covering)
        if state == previous:
            if not fresh and previous is not None and previous.level > 0 and held is not None:
                held[sub.id] = as_utc(previous.issue_time).isoformat()
            continue
        with outbox.engine.begin() as conn:
            store.save(state, conn)
            if decision is not None:
                for channel in sub.channels:
                    recipient, body = render_for_channel(
                        channel, decision, sub, site_url=site_url,
                        unsubscribe_url=unsubscribe(sub))
                    outbox.enqueue(decision.idempotency_key, channel, recipient, body,
                                   subscription_id=sub.id, conn=conn, now=now)
        if decision is not None:
            decisions.append(decision)
    if problems:
        raise ValueError("alerts could not be evaluated for:\n  " + "\n  ".join(problems))
    return decisions
