"""Physical forecast against the learned model, event by event (small and simple).

The full event verification belongs to :mod:`wetindex.model.evaluate`; this module
keeps only what the switch between the two methods needs:

- **events** of the demo world's truth in a period: *surges* (sea water in the polder
  behind the dike; onset = its first hour) and *rain floods* (24 h rain of at least
  :data:`RAIN_EVENT_MM` that puts new water on at least :data:`MIN_EVENT_CELLS` cells
  that were dry before it);
- **warned or missed**: an event is warned by a forecast issued before its onset when,
  at some valid hour in its first :data:`ONSET_WINDOW_H` hours, orange covers at least
  :data:`WARNED_SHARE` of the event's cells (and at least :data:`MIN_WARNED_CELLS`)
  counting only cells that are dry at the issue time (water already standing is not a
  forecast of the event); the **lead** is the onset minus the earliest such issue time;
- **false warnings**: quiet issue times (no event within their 48 h) at which the
  method puts orange on at least 1 ha (:data:`MIN_EVENT_CELLS`) of cells that are dry in
  truth at that hour and were dry at the issue time.

``python -m wetindex.physics.compare_run`` builds a small demo area, trains the learned
model, and scores both methods on its hold-out (:mod:`wetindex.physics.compare_run`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

RAIN_EVENT_MM = 20.0
MIN_EVENT_CELLS = 100  # 1 ha at 10 m
MIN_WARNED_CELLS = 25
WARNED_SHARE = 0.1
ONSET_WINDOW_H = 24
ORANGE = 0.4
MAX_LEAD_H = 48

log = logging.getLogger(__name__)


@dataclass
class Event:
    """One flood event of the truth: what, when, where (flat cells)."""

    kind: str
    onset: pd.Timestamp
    end: pd.Timestamp
    cells: np.ndarray = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "onset": self.onset.isoformat(), "end": self.end.isoformat(),
                "cells": int(self.cells.size)}


def _runs(times: pd.DatetimeIndex, gap_h: int) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Consecutive runs of hourly ``times`` split where the gap exceeds ``gap_h``."""
    if len(times) == 0:
        return []
    out, start, prev = [], times[0], times[0]
    for t in times[1:]:
        if t - prev > pd.Timedelta(hours=gap_h):
            out.append((start, prev))
            start = t
        prev = t
    out.append((start, prev))
    return out


def demo_events(world: Any, start: pd.Timestamp, end: pd.Timestamp) -> list[Event]:
    """Surge and rain-flood events of a demo world's truth between ``start`` and ``end``."""
    times = pd.DatetimeIndex(world.forcing["time"].values)
    inside = (times >= start) & (times <= end)
    events: list[Event] = []
    polder = np.flatnonzero(world.truth_cells["polder"].values.ravel().astype(bool))
    psl = world.truth_state["polder_sea_level"].values
    surge_hours = times[inside & np.isfinite(psl)]
    for a, b in _runs(surge_hours, 6):
        events.append(Event("surge", a, b, polder))
    rain = world.forcing["rain"].to_series()
    rain24 = rain.rolling(24, min_periods=1).sum()
    wet_hours = times[inside & (rain24.reindex(times).values >= RAIN_EVENT_MM)]
    for a, b in _runs(wet_hours, 24):
        first = max(a - pd.Timedelta(hours=24), times[0])
        last = min(b + pd.Timedelta(hours=24), times[-1])
        before = _pluvial(world, first)
        new = np.zeros_like(before)
        onset = None
        for t in pd.date_range(first, last, freq="3h"):
            fresh = _pluvial(world, t) & ~before
            if onset is None and fresh.sum() >= MIN_EVENT_CELLS:
                onset = t
            new |= fresh
        if onset is not None and new.sum() >= MIN_EVENT_CELLS:
            events.append(Event("rain", onset, last, np.flatnonzero(new)))
    return sorted(events, key=lambda e: e.onset)


def _pluvial(world: Any, t: pd.Timestamp) -> np.ndarray:
    comp = world.water_components(np.datetime64(t, "ns"))
    return (comp["pluvial"].values | comp["fluvial"].values).ravel()


def warns(event: Event, issue: pd.Timestamp, prob: np.ndarray,
          wet_at_issue: np.ndarray | None = None) -> bool:
    """Whether the forecast issued at ``issue`` (probability ``(lead, ny·nx)``) warns
    ``event``: issued before its onset, orange on enough of its cells that are dry at
    the issue time (``wet_at_issue``, flat bool), early in the event."""
    if not (event.onset - pd.Timedelta(hours=MAX_LEAD_H) <= issue < event.onset):
        return False
    valid = issue + pd.to_timedelta(np.arange(1, prob.shape[0] + 1), unit="h")
    last = min(event.end, event.onset + pd.Timedelta(hours=ONSET_WINDOW_H))
    during = np.flatnonzero((valid >= event.onset) & (valid <= last))
    if during.size == 0:
        return False
    cells = event.cells if wet_at_issue is None else event.cells[~wet_at_issue[event.cells]]
    need = max(MIN_WARNED_CELLS, WARNED_SHARE * event.cells.size)
    return bool(((prob[during][:, cells] >= ORANGE).sum(axis=1) >= need).any())


def score_event(event: Event, warned_issues: list[pd.Timestamp]) -> dict[str, Any]:
    """Warned or missed, and the lead [h]: the onset minus the earliest warning issue."""
    lead = ((event.onset - min(warned_issues)) / pd.Timedelta(hours=1)
            if warned_issues else None)
    return {**event.to_dict(), "warned": bool(warned_issues), "lead_h": lead,
            "warning_issues": len(warned_issues)}


def false_warning(prob: np.ndarray, truth: np.ndarray, wet_at_issue: np.ndarray) -> bool:
    """Orange on enough cells that are dry then and were dry at the issue time."""
    dry = ~truth & ~wet_at_issue[None, :]
    return bool((((prob >= ORANGE) & dry).sum(axis=1) >= MIN_EVENT_CELLS).any())


def summarise(scores: list[dict[str, Any]], false: int, quiet: int) -> dict[str, Any]:
    """POD and median lead per event kind, and the false-warning rate."""
    out: dict[str, Any] = {}
    for kind in sorted({s["kind"] for s in scores}):
        part = [s for s in scores if s["kind"] == kind]
        leads = [s["lead_h"] for s in part if s["warned"]]
        out[kind] = {"events": len(part), "warned": len(leads),
                     "pod": round(len(leads) / len(part), 3),
                     "median_lead_h": float(np.median(leads)) if leads else None}
    out["false_warning_rate"] = round(false / quiet, 3) if quiet else None
    out["quiet_issues"] = quiet
    return out


def learned_should_take_over(physical: dict[str, Any], learned: dict[str, Any],
                             min_events: int = 3) -> tuple[bool, str]:
    """The switching rule: enough verified events, and no worse than the physical forecast.

    The learned model takes over when, on the area's own labelled events, each kind
    has at least ``min_events`` events, its POD is at least the physical forecast's in
    every kind, and its false-warning rate is not higher.
    """
    kinds = [k for k in physical if isinstance(physical[k], dict)]
    few = [k for k in kinds if physical[k]["events"] < min_events]
    if few:
        counts = ", ".join(f"{k}: {physical[k]['events']}" for k in few)
        return False, f"too few verified events ({counts}; need {min_events} of each kind)"
    worse = [k for k in kinds if learned[k]["pod"] < physical[k]["pod"]]
    if worse:
        return False, f"the learned model misses more {', '.join(worse)} events"
    if (learned.get("false_warning_rate") or 0) > (physical.get("false_warning_rate") or 0):
        return False, "the learned model warns falsely more often"
    return True, "the learned model is at least as good on every kind of event"
