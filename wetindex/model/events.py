"""Event-level verification per place: was each flood warned, how early, how many false alarms.

Cell-hour scores say little about what a dike association or a summer-house owner
gets. Here the hold-out, replayed as the forecast runs would have issued it
(:mod:`wetindex.model.event_replay`), is verified event by event:

* **Truth.** A place is *in flood* in an hour when at least ``min_area_m2`` (1 ha,
  the warning rule's minimum) of its exposed land that is normally dry in that
  month (seasonal normal below :data:`NORMAL_DRY`) is under *new* water: water that
  has stood at most :data:`NEW_WATER_H` hours (the cell was seen dry within the last
  three days). Water standing longer is what a forecast run finds at its issue time
  and does not warn (the warning is the excess over what stands), so counting it
  would merge a wet autumn's floods into one unwarnable months-long "event".
  Consecutive flood hours (gaps up to ``merge_gap_h``) make one **event** with an
  onset, a peak (the hour of the largest flooded area) and an end. Each event has a
  **severity**: the highest level whose threshold the *observed* warning score (new
  water × the cell's impact, :func:`wetindex.normal.impact_weight`: the score a
  forecast certain of that water gives) reaches on at least ``min_area_m2`` of the
  place in some hour of the event. A level's POD counts only the events that reach
  it: flooded forest (impact 0.3) is a yellow event, never a missed orange one. Each
  event also has a
  **cause**: ``sea`` when the observed sea level in the day before its onset reached
  the lowest level at which the sea floods the place (over its dike, if it has one),
  else ``rain`` (rain, groundwater, a stream).
* **Forecast.** At each issue time the place's hourly level is computed exactly as
  the published warnings are (:func:`wetindex.risk.place_hourly_levels` on the level
  of the warning score, :mod:`wetindex.normal`).
* **Scores per level** (yellow, orange, red): an event is *warned* when the last
  issue at least one hour before its onset has the place at or above the level in
  some hour within ``tolerance_h`` of the event; its **lead** is the onset minus the
  first issue of the unbroken run of issues that warned it; **onset and peak errors**
  are the warned onset/peak minus the true ones (from that last issue). A warning
  (one issue × place) is *false* when no flood hour of that place lies within
  ``tolerance_h`` of its window. **Quiet issue times** are those with no flood
  anywhere in the next 48 h; the share of them with no warning at all is reported.
  POD, lead and timing are also given per cause, and FAR per cause of the warning
  (``sea`` when the forecast sea reaches the place within the 48 h).
* **Case studies.** For each storm in the hold-out (from the observed drivers,
  :func:`wetindex.model.cv.storm_events`, named by its date and kind), the most
  flooded place's forecast (its level and the warning score that
  1 ha of it reaches) from each issue time before and during the storm, against the
  area that flooded there in the next 48 h.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from wetindex.model.cv import storm_events
from wetindex.model.label_times import label_hours
from wetindex.normal import (
    NORMAL_DRY,
    impact_weight,
)
from wetindex.risk import MIN_AREA_M2, place_raster
from wetindex.warnings import LEVEL_NAMES

#: Water that has stood longer than this [h] is standing water, no longer a new flood.
NEW_WATER_H = 72
#: Hours before an event's onset in which the sea must reach the place for a sea cause.
SEA_CAUSE_WINDOW_H = 24


def flood_events(flooded: np.ndarray, area: np.ndarray, hours: pd.DatetimeIndex,
                 merge_gap_h: int = 6, known: np.ndarray | None = None,
                 ) -> list[dict[str, pd.Timestamp]]:
    """Events of one place from its hourly flood flags (``area``: flooded m² per hour).

    Flood hours more than ``merge_gap_h`` apart are separate events only when a
    labelled hour between them (``known``, bool per hour; all hours when ``None``)
    saw the place without flooding: satellite passes 12 h apart that both see water
    are one event, not two.
    """
    idx = np.flatnonzero(flooded)
    events: list[dict[str, pd.Timestamp]] = []
    if idx.size == 0:
        return events
    seen = np.cumsum(np.ones(len(flooded), bool) if known is None else np.asarray(known, bool))
    starts = [idx[0]]
    ends = []
    for a, b in itertools.pairwise(idx):
        seen_dry_between = seen[b - 1] - seen[a] > 0
        if b - a > merge_gap_h and seen_dry_between:
            ends.append(a)
            starts.append(b)
    ends.append(idx[-1])
    for s, e in zip(starts, ends, strict=True):
        peak = s + int(np.argmax(area[s:e + 1]))
        events.append({"onset": hours[s], "end": hours[e], "peak": hours[peak]})
    return events


def _window(levels: np.ndarray, level: int) -> tuple[int, int, int] | None:
    at = np.flatnonzero(levels >= level)
    if at.size == 0:
        return None
    peak = int(np.flatnonzero(levels == levels.max())[0])
    return int(at[0]), peak, int(at[-1])


def verify_events(
    events: dict[str, list[dict[str, pd.Timestamp]]], place_levels: np.ndarray,
    issues: pd.DatetimeIndex, places: Sequence[str], flood_hours: dict[str, set],
    *, tolerance_h: int = 3, max_lead_h: int = 48,
    warning_causes: np.ndarray | None = None, labelled: pd.DatetimeIndex | None = None,
) -> dict[str, Any]:
    """Event scores per level from the places' hourly levels ``(issue, place, lead)``.

    ``flood_hours`` gives per place the set of its flood hours (Timestamps);
    ``events`` its events (:func:`flood_events`; an event may carry a ``cause``).
    Only events whose onset is at least one hour after the first issue and within
    the last issue's horizon count. ``warning_causes`` ``(issue, place)`` names the
    cause of each issue × place warning (``sea``/``rain``) for FAR per cause.
    Each level's scores get ``by_cause``: the same scores for the events of one cause.
    ``labelled`` are the hours with labels, sorted (all hours when ``None``): a warning whose
    window holds no labelled hour cannot be verified, so it is counted apart
    (``unverifiable``), not as false; an issue time whose horizon holds no labelled hour
    is neither quiet nor stormy.
    """
    tol = pd.Timedelta(hours=tolerance_h)
    step = pd.Timedelta(hours=1)
    out: dict[str, Any] = {"n_issues": len(issues), "tolerance_h": tolerance_h, "levels": {}}
    horizon_end = issues[-1] + pd.Timedelta(hours=max_lead_h)
    scored = {p: [e for e in events.get(p, []) if issues[0] + step <= e["onset"] <= horizon_end]
              for p in places}
    # quiet issue times: no flood hour anywhere in (issue, issue + max_lead_h]
    any_flood = sorted(set().union(*flood_hours.values())) if flood_hours else []
    flood_index = pd.DatetimeIndex(any_flood)
    horizon = pd.Timedelta(hours=max_lead_h)

    def has_label(start: pd.Timestamp, end: pd.Timestamp) -> bool:
        if labelled is None:
            return True
        first = labelled.searchsorted(start)  # labelled hours are sorted (label_hours)
        return first < len(labelled) and labelled[first] <= end

    quiet = np.array([not ((flood_index > t) & (flood_index <= t + horizon)).any()
                      and has_label(t + step, t + horizon) for t in issues], dtype=bool)
    warned_any = place_levels.max(axis=(1, 2)) >= 1
    out["quiet_issues"] = int(quiet.sum())
    out["quiet_without_warning"] = (float((~warned_any[quiet]).mean()) if quiet.any()
                                    else float("nan"))
    per_place: dict[str, dict[str, Any]] = {}
    for level in (1, 2, 3):
        name = LEVEL_NAMES[level]
        # an event counts at the levels its observed severity reaches (all, if not given)
        at_level = {p: [e for e in scored[p] if e.get("level", 3) >= level] for p in places}
        rows, leads, onset_err, peak_err = [], [], [], []
        n_warnings = false = unverifiable = 0
        warn_by_cause: dict[str, list[int]] = {}
        for pi, place in enumerate(places):
            hours = flood_hours.get(place, set())
            # false warnings: every issue × place warning window with no flood near it
            for ii, issue in enumerate(issues):
                win = _window(place_levels[ii, pi], level)
                if win is None:
                    continue
                start = issue + pd.Timedelta(hours=win[0] + 1) - tol
                end = issue + pd.Timedelta(hours=win[2] + 1) + tol
                if not has_label(start, end):
                    unverifiable += 1
                    continue
                n_warnings += 1
                is_false = not any(start <= h <= end for h in hours)
                if warning_causes is not None:
                    tally = warn_by_cause.setdefault(str(warning_causes[ii, pi]), [0, 0])
                    tally[0] += 1
                    tally[1] += int(is_false)
                if is_false:
                    false += 1
                    per_place.setdefault(place, {}).setdefault(f"false_{name}", 0)
                    per_place[place][f"false_{name}"] += 1
            for ev in at_level[place]:
                before = np.flatnonzero(issues <= ev["onset"] - step)
                row = {"place": place, "onset": ev["onset"].isoformat(),
                       "end": ev["end"].isoformat(), "peak": ev["peak"].isoformat(),
                       "severity": ev.get("level"), "cause": ev.get("cause"),
                       "warned": False, "lead_h": None,
                       "onset_error_h": None, "peak_error_h": None}
                if before.size:
                    def warns(ii: int, ev=ev, pi=pi, level=level) -> tuple[int, int, int] | None:
                        win = _window(place_levels[ii, pi], level)
                        if win is None:
                            return None
                        w0 = issues[ii] + pd.Timedelta(hours=win[0] + 1)
                        w1 = issues[ii] + pd.Timedelta(hours=win[2] + 1)
                        overlaps = w0 - tol <= ev["end"] and w1 + tol >= ev["onset"]
                        return win if overlaps else None

                    last = int(before[-1])
                    win = warns(last)
                    if win is not None:
                        first = last
                        while first - 1 >= 0 and warns(first - 1) is not None:
                            first -= 1
                        row["warned"] = True
                        row["lead_h"] = (ev["onset"] - issues[first]) / pd.Timedelta(hours=1)
                        onset_f = issues[last] + pd.Timedelta(hours=win[0] + 1)
                        peak_f = issues[last] + pd.Timedelta(hours=win[1] + 1)
                        row["onset_error_h"] = (onset_f - ev["onset"]) / pd.Timedelta(hours=1)
                        row["peak_error_h"] = (peak_f - ev["peak"]) / pd.Timedelta(hours=1)
                        leads.append(row["lead_h"])
                        onset_err.append(row["onset_error_h"])
                        peak_err.append(row["peak_error_h"])
                rows.append(row)
                stats = per_place.setdefault(place, {})
                stats["events"] = len(scored[place])
                key = f"warned_{name}" if row["warned"] else f"missed_{name}"
                stats[key] = stats.get(key, 0) + 1
        out["levels"][name] = _level_scores(rows, n_warnings, false)
        out["levels"][name]["unverifiable_warnings"] = unverifiable
        out["levels"][name]["events"] = rows
        by_cause = {}
        for cause in sorted({str(r["cause"]) for r in rows if r["cause"]} | set(warn_by_cause)):
            n_w, n_f = warn_by_cause.get(cause, (0, 0))
            by_cause[cause] = _level_scores([r for r in rows if str(r["cause"]) == cause],
                                            n_w if warning_causes is not None else None, n_f)
        out["levels"][name]["by_cause"] = by_cause
    out["per_place"] = per_place
    return out


def set_severity(events: dict[str, list[dict]], places: Sequence[str], level_area: np.ndarray,
                 hours: pd.DatetimeIndex, min_area_m2: float) -> None:
    """Give each event its ``level``: the highest level whose observed-score area reaches
    ``min_area_m2`` in some hour of the event (0: none), from ``level_area`` ``(hour,
    place, level)`` of :func:`observed_flooding`."""
    if level_area.shape[-1] == 0:  # no thresholds: events count at every level
        return
    for pi, place in enumerate(places):
        for ev in events.get(place, []):
            span = (hours >= ev["onset"]) & (hours <= ev["end"])
            reached = np.flatnonzero(level_area[span, pi].max(axis=0) >= min_area_m2)
            ev["level"] = int(reached[-1]) + 1 if reached.size else 0


def _level_scores(rows: list[dict[str, Any]], n_warnings: int | None,
                  false: int) -> dict[str, Any]:
    """POD, FAR, median lead and timing errors of scored event ``rows``."""
    hit = [r for r in rows if r["warned"]]
    leads = [r["lead_h"] for r in hit]
    onset = [r["onset_error_h"] for r in hit]
    peak = [r["peak_error_h"] for r in hit]

    def med(v: list[float]) -> float:
        return float(np.median(v)) if v else float("nan")

    return {
        "n_events": len(rows), "hits": len(hit),
        "pod": len(hit) / len(rows) if rows else float("nan"),
        "n_warnings": n_warnings, "false_warnings": false if n_warnings is not None else None,
        "far": false / n_warnings if n_warnings else float("nan"),
        "median_lead_h": med(leads), "median_onset_error_h": med(onset),
        "median_abs_onset_error_h": med(list(np.abs(onset))),
        "median_peak_error_h": med(peak),
    }


def place_index_of(cells: np.ndarray, places: Sequence, grid) -> np.ndarray:
    """0-based place of each flat cell (-1: in no place)."""
    return place_raster(places, grid).ravel()[cells].astype("int64") - 1


@dataclass
class ReplayCells:
    """The cells an event replay runs on, and what the warning needs to know of them."""

    #: flat cells replayed: the screen's candidates, or a random sample of them
    cells: np.ndarray
    #: number of candidate cells (``len(cells)`` when not sampled)
    n_candidates: int
    #: 0-based place of each replayed cell (-1: in no place)
    place_of: np.ndarray
    #: area one replayed cell stands for, per place [m²]
    cell_area: np.ndarray
    #: the 1-ha rule in replayed cells, per place
    min_cells: np.ndarray
    exposure: np.ndarray
    permanent: np.ndarray
    #: seasonal normal ``(month, cell)`` from the training period
    normal: np.ndarray


def observed_flooding(inputs, cells: np.ndarray, place_of: np.ndarray, n_places: int,
                      hours: pd.DatetimeIndex, normal: np.ndarray, exposure: np.ndarray,
                      cell_area: float | np.ndarray, min_area_m2: float = MIN_AREA_M2,
                      chunk_h: int = 24, new_water_h: int = NEW_WATER_H,
                      thresholds: Sequence[float] | None = None,
                      severity: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(flooded, area)`` per ``(hour, place)``: the truth of :func:`verify_events`.

    ``normal`` is the seasonal normal ``(month, cell)`` of ``cells``, ``exposure``
    their exposure weights; ``cell_area`` the area one cell stands for, per place
    when the cells are a sample. A wet cell counts while it has been wet for at most
    ``new_water_h`` hours since it was last seen dry (labels are read from
    ``new_water_h`` hours before the first hour on; an unknown hour neither dries nor
    wets a cell, it only lets the time since the last dry sighting grow).
    With ``thresholds`` and a ``severity`` dict, ``severity["level_area"]`` ``(hour,
    place, level)`` is filled: the flooded area [m²] whose observed warning score
    (``(1 − normal) × exposure``) reaches each level's threshold.
    """
    cell_area = np.broadcast_to(np.asarray(cell_area, "float64"), (n_places,))
    area = np.zeros((len(hours), n_places))
    exposed = (exposure > 0) & (place_of >= 0)
    warm = pd.date_range(hours[0] - pd.Timedelta(hours=new_water_h), periods=new_water_h,
                         freq="h")
    every = warm.append(pd.DatetimeIndex(hours))
    since_dry = np.zeros(len(cells), dtype="int64")  # hours since the cell was seen dry
    thr = np.asarray(thresholds if thresholds is not None else [], "float32")
    level_area = np.zeros((len(hours), n_places, len(thr)))
    for s in range(0, len(every), chunk_h):
        part = every[s:s + chunk_h]
        labels = np.asarray(inputs.labels(part.values, cells))
        new = np.zeros(labels.shape, dtype=bool)
        for k in range(len(part)):
            since_dry = np.where(labels[k] == 0, 0, since_dry + 1)
            new[k] = (labels[k] == 1) & (since_dry <= new_water_h)
        dry_normally = normal[part.month.values - 1] < NORMAL_DRY
        flood = new & dry_normally & exposed[None]
        rows = np.arange(s, s + len(part)) - len(warm)
        keep = rows >= 0
        flood = flood[keep]
        observed_score = impact_weight(normal[part.month.values[keep] - 1], exposure[None])
        for pi in range(n_places):
            here = place_of == pi
            flood_here = flood[:, here]
            area[rows[keep], pi] = flood_here.sum(axis=1) * cell_area[pi]
            if len(thr):
                score_here = np.where(flood_here, observed_score[:, here], -1.0)
                for li, t in enumerate(thr):
                    level_area[rows[keep], pi, li] = ((score_here >= t).sum(axis=1)
                                                      * cell_area[pi])
    if severity is not None:
        severity["level_area"] = level_area
    return area >= min_area_m2, area


@dataclass
class ObservedEvents:
    """The truth of a replay: each place's flood events (with ``level`` and ``cause``)."""

    names: list[str]
    hours: pd.DatetimeIndex
    #: flooded area [m²] per ``(hour, place)``
    area: np.ndarray
    events: dict[str, list[dict[str, Any]]]
    #: per place the set of its flood hours
    flood_hours: dict[str, set]
    #: the hours with labels (sorted)
    labelled: pd.DatetimeIndex
    #: per place the lowest sea level [m] at which the sea floods its exposed land
    place_sea: np.ndarray
    #: the observed drivers from the start of training to the last hour
    observed: Any

    def warning_causes(self, sea_max: np.ndarray) -> np.ndarray:
        """``(issue, place)`` cause of a warning: ``sea`` when the issue's forecast sea
        (``sea_max``, per issue) reaches the place, else ``rain``."""
        return np.where(np.asarray(sea_max)[:, None] >= self.place_sea[None, :], "sea", "rain")


def observed_events(inputs, static, rc: ReplayCells, issues: pd.DatetimeIndex, *,
                    train: tuple[pd.Timestamp, pd.Timestamp], thresholds: Sequence[float],
                    max_lead_h: int = 48, min_area_m2: float = MIN_AREA_M2) -> ObservedEvents:
    """Each place's observed flood events from the first issue to the last one's horizon.

    :func:`observed_flooding` on the replayed cells, :func:`flood_events` (split only
    where a labelled hour saw the place dry), :func:`set_severity`, and each event's
    cause: ``sea`` when the observed sea level in the :data:`SEA_CAUSE_WINDOW_H` hours
    before its onset reached the lowest flood level of the place's exposed land (over
    its dike, if it has one), else ``rain``.
    """
    names = [p.name for p in inputs.places()]
    hours = pd.date_range(issues[0], issues[-1] + pd.Timedelta(hours=max_lead_h), freq="h")
    severity: dict[str, np.ndarray] = {}
    flooded, area = observed_flooding(inputs, rc.cells, rc.place_of, len(names), hours,
                                      rc.normal, rc.exposure, rc.cell_area, min_area_m2,
                                      thresholds=thresholds, severity=severity)
    labelled = label_hours(inputs, hours[0], hours[-1])
    known = hours.isin(labelled)
    events = {n: flood_events(flooded[:, i], area[:, i], hours, known=known)
              for i, n in enumerate(names)}
    set_severity(events, names, severity["level_area"], hours, min_area_m2)
    flood_hours = {n: set(hours[flooded[:, i]]) for i, n in enumerate(names)}
    # the sea reaches a place when it rises to the lowest flood level of its exposed land
    flood_level = (np.asarray(static["sea_flood_level"].values, "float64").ravel()[rc.cells]
                   if "sea_flood_level" in static else np.full(len(rc.cells), np.nan))
    place_sea = np.full(len(names), np.inf)
    for pi in range(len(names)):
        levels_here = flood_level[(rc.place_of == pi) & (rc.exposure > 0)]
        if np.isfinite(levels_here).any():
            place_sea[pi] = np.nanmin(levels_here)
    end = min(hours[-1], pd.Timestamp(inputs.observed_end()))
    observed = inputs.observed(np.datetime64(train[0]), end.to_datetime64())
    sea = observed["sea_level"].to_series()
    for pi, n in enumerate(names):
        for ev in events[n]:
            before = sea[ev["onset"] - pd.Timedelta(hours=SEA_CAUSE_WINDOW_H):ev["onset"]]
            ev["cause"] = "sea" if before.max() >= place_sea[pi] else "rain"
    return ObservedEvents(names=names, hours=hours, area=area, events=events,
                          flood_hours=flood_hours, labelled=labelled, place_sea=place_sea,
                          observed=observed)


def case_studies(
    observed, issues: pd.DatetimeIndex, places: Sequence[str], levels: np.ndarray,
    scores: np.ndarray, area: np.ndarray, hours: pd.DatetimeIndex,
    thresholds: Sequence[float], holdout: tuple[pd.Timestamp, pd.Timestamp],
    *, before_h: int = 72, max_lead_h: int = 48,
) -> list[dict[str, Any]]:
    """The hold-out's storms, each with its most flooded place's forecast per issue time.

    Storms are found in the observed drivers (:func:`wetindex.model.cv.storm_events`,
    over the whole ``observed`` span so "storm" means the same as in training) and
    named by their start date and kind. For each issue from ``before_h`` hours before
    the storm to its end: the place's highest level and score in the next
    ``max_lead_h`` hours, the first lead at orange or above, and what happened there:
    the largest flooded area [ha] and the first flood hour in the same 48 h.
    """
    storms = storm_events(observed)
    out = []
    orange = float(thresholds[1]) if len(thresholds) > 1 else float("inf")
    for _, st in storms.iterrows():
        if not holdout[0] <= st["start"] <= holdout[1]:
            continue
        span = (hours >= st["start"]) & (hours <= st["end"] + pd.Timedelta(hours=max_lead_h))
        if not span.any():
            continue
        flooded_area = area[span].max(axis=0)
        pi = int(np.argmax(flooded_area))
        first_flood = hours[span][area[span, pi] >= MIN_AREA_M2]
        rows = []
        for ii, issue in enumerate(issues):
            if not st["start"] - pd.Timedelta(hours=before_h) <= issue <= st["end"]:
                continue
            ahead = (hours > issue) & (hours <= issue + pd.Timedelta(hours=max_lead_h))
            at_orange = np.flatnonzero(scores[ii, pi] >= orange)
            flood_now = hours[ahead][area[ahead, pi] >= MIN_AREA_M2]
            rows.append({
                "issue_time": issue.isoformat(),
                "level_max": LEVEL_NAMES[int(levels[ii, pi].max())],
                "score_max": float(scores[ii, pi].max()),
                "orange_from_h": int(at_orange[0]) + 1 if at_orange.size else None,
                "flooded_ha_max": float(area[ahead, pi].max() / 10_000.0),
                "flood_from_h": (int((flood_now[0] - issue) / pd.Timedelta(hours=1))
                                 if len(flood_now) else None),
            })
        out.append({
            "name": f"{st['kind']} storm of {st['start']:%Y-%m-%d}",
            "start": st["start"].isoformat(), "end": st["end"].isoformat(),
            "kind": st["kind"], "rain_24h_max_mm": float(st["rain_24h_max"]),
            "sea_level_max_m": float(st["sea_level_max"]), "place": places[pi],
            "first_flood": first_flood[0].isoformat() if len(first_flood) else None,
            "flooded_ha_max": float(flooded_area[pi] / 10_000.0), "issues": rows,
        })
    return out
