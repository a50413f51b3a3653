"""Freshness is part of the forecast: which issue time a run owes, and whether it can.

A scheduled run owes a forecast for the current issue slot (``now`` floored to
``forecast.issue_every_h``). When the drivers end before that slot, the run never
moves the issue time back (that published a three-day-old forecast as "fresh").
Instead, per driver family (``rain``, ``sea_level``, ``evaporation``):

- its last value is at or after the slot: **fresh**;
- it is late by at most the missing-data policy's hours
  (``forecast.missing_data_max_h``, default ``forecast.stale_after_h``): the run
  forecasts for the slot with that driver continued from its last value and marks
  the forecast **degraded** (the input is "stale" in status.json and on the site);
- later than that: the run is **refused** (:class:`StaleInputsError`), and the site
  and feed are republished as "not updated since …" (see :mod:`wetindex.stages.run`).

A family the area does not have (rain in a sea-only area, :mod:`wetindex.absent_inputs`)
is not waited for and not reported.

``now`` is injected everywhere (tests, replays); :func:`utc_now` reads
``WETINDEX_NOW`` (ISO time) when set, else the clock.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import pandas as pd

from wetindex.absent_inputs import is_absent
from wetindex.climatology import evaporation_climatology
from wetindex.sources.base import InputMissingError
from wetindex.sources.local import read_series
from wetindex.warnings import InputHealth

#: Driver families whose feeds a forecast needs up to its issue time.
FAMILIES: tuple[str, ...] = ("rain", "sea_level", "evaporation")
#: How far back to look for a family's last value.
LOOKBACK = pd.Timedelta(days=14)


class StaleInputsError(RuntimeError):
    """The inputs end too long before the issue time a run owes; names them and since when."""

    def __init__(self, report: Freshness):
        self.report = report
        super().__init__(report.message)


@dataclass
class Freshness:
    """Where each driver ends against the issue time a run owes, and what follows."""

    issue_time: pd.Timestamp
    ends: dict[str, pd.Timestamp | None]
    allowed_h: dict[str, float]
    state: Literal["fresh", "degraded", "refused"] = "fresh"
    late: dict[str, float] = field(default_factory=dict)

    @property
    def message(self) -> str:
        if self.state == "fresh":
            return f"inputs reach the issue time {self.issue_time:%Y-%m-%d %H:%M} UTC"
        parts = []
        for name, hours in self.late.items():
            end = self.ends.get(name)
            since = f"{end:%Y-%m-%d %H:%M} UTC" if end is not None else "(no values)"
            parts.append(f"{name} ends {since}, {hours:g} h before the issue time "
                         f"(policy allows {self.allowed_h.get(name, 0):g} h)")
        what = "; ".join(parts)
        if self.state == "degraded":
            return (f"degraded forecast for {self.issue_time:%Y-%m-%d %H:%M} UTC: {what}; "
                    "continued from the last values")
        return (f"no forecast for {self.issue_time:%Y-%m-%d %H:%M} UTC: {what}. Fix the feed "
                "(or raise forecast.missing_data_max_h); the site says 'not updated'")

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "issue_time": self.issue_time.isoformat(),
                "ends": {k: (v.isoformat() if v is not None else None)
                         for k, v in self.ends.items()},
                "late_h": dict(self.late), "allowed_h": dict(self.allowed_h),
                "message": self.message}


def utc_now() -> datetime:
    """The current time (UTC), or ``WETINDEX_NOW`` when set (replays and tests)."""
    text = os.environ.get("WETINDEX_NOW")
    if text:
        t = pd.Timestamp(text)
        t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
        return t.to_pydatetime()
    return datetime.now(UTC)


def owed_issue_time(now: datetime, issue_every_h: int) -> pd.Timestamp:
    """The issue slot a run at ``now`` owes (UTC, tz-naive like every stored time)."""
    t = pd.Timestamp(now)
    t = t.tz_convert("UTC").tz_localize(None) if t.tzinfo is not None else t
    return t.floor(f"{issue_every_h}h")


def _local_series(inputs) -> dict[str, pd.Series] | None:
    """Each family's own series of a local-files area (the drivers are cut to their overlap,
    which would make a feed that is fine look as late as the one that stopped)."""
    spec = getattr(inputs, "spec", None)
    if spec is None or not hasattr(inputs, "path"):
        return None

    out = {}
    for name in FAMILIES:
        kind_spec = getattr(spec, name, None)
        if kind_spec is not None and kind_spec.path is not None:
            out[name] = read_series(kind_spec, name, inputs.path(name))
    return out


def family_ends(inputs) -> dict[str, pd.Timestamp | None]:
    """The last time each driver family has a value (NaN tails do not count)."""
    series = _local_series(inputs)
    if series is not None:
        return {name: s.last_valid_index() for name, s in series.items()}
    end = pd.Timestamp(inputs.observed_end())
    try:
        obs = inputs.observed((end - LOOKBACK).to_datetime64(), end.to_datetime64())
    except InputMissingError:  # a short history: all of it
        obs = inputs.observed(inputs.issue_times()[0].to_datetime64(), end.to_datetime64())
    out: dict[str, pd.Timestamp | None] = {}
    for name in FAMILIES:
        if name not in obs or is_absent(inputs, name):  # absent: no feed to wait for
            continue
        series = obs[name].dropna("time")
        out[name] = pd.Timestamp(series["time"].values[-1]) if series.sizes["time"] else None
    return out


def assess(inputs, issue_time: pd.Timestamp, allowed_h: dict[str, float]) -> Freshness:
    """Compare each family's end with ``issue_time`` under the missing-data policy."""
    ends = family_ends(inputs)
    report = Freshness(issue_time, ends, allowed_h)
    for name, end in ends.items():
        late = float("inf") if end is None else (issue_time - end) / pd.Timedelta(hours=1)
        if late > 0:
            report.late[name] = late
    if report.late:
        ok = all(h <= allowed_h.get(n, 0) for n, h in report.late.items())
        report.state = "degraded" if ok else "refused"
    return report


def policy_hours(config) -> dict[str, float]:
    """Hours each family may be continued from its last value (the missing-data policy)."""
    fc = config.forecast
    limits = dict(getattr(fc, "missing_data_max_h", None) or {})
    return {name: float(limits.get(name, fc.stale_after_h)) for name in FAMILIES}


def continue_drivers(inputs, until: pd.Timestamp, report: Freshness) -> None:
    """Extend a local-files area's drivers to ``until`` by holding each late family's last value.

    Only families the policy allows are continued (:func:`assess` said "degraded").
    Works on :class:`wetindex.sources.local.LocalInputs`; other inputs cannot be
    continued, and a late feed there refuses the run.
    """
    frame = getattr(inputs, "_drivers", None)
    series = _local_series(inputs)
    if not isinstance(frame, pd.DataFrame) or series is None:
        report.state = "refused"
        raise StaleInputsError(report)
    hours = pd.date_range(frame.index[0], until, freq="1h")
    out = frame.reindex(hours)
    for name, values in series.items():  # each family's own values, then its last one held
        own = values.reindex(hours)
        last = own.last_valid_index()
        if last is not None:
            own[own.index > last] = float(own[last])
        out[name] = out[name].combine_first(own)  # the drivers as read, gaps from its own
    if "evaporation" not in series:  # the climatology proxy covers any hour

        out["evaporation"] = out["evaporation"].combine_first(
            pd.Series(evaporation_climatology(hours), index=hours))
    out["groundwater_anomaly"] = out["groundwater_anomaly"].ffill()  # a slow proxy: held
    inputs.__dict__["_drivers"] = out.astype("float32")  # replaces the cached property


def input_health(report: Freshness) -> list:
    """One :class:`~wetindex.warnings.InputHealth` per family, from the report."""
    out = []
    for name, end in report.ends.items():
        status = "missing" if end is None else ("stale" if name in report.late else "fresh")
        detail = "" if status == "fresh" else (
            f"{report.late[name]:g} h late; continued from its last value"
            if report.state == "degraded" else f"{report.late[name]:g} h late")
        out.append(InputHealth(name, status,
                               end.tz_localize("UTC").to_pydatetime() if end is not None
                               else None, detail))
    return out
