"""Where in time labels exist: the valid times verification and the seasonal normal sample.

Satellite labels exist at passes (05 and 17 UTC in one area, any hour in another),
the demo's truth at every hour. Anything that compares a forecast or a climatology
with labels must look at the hours where a label is, not at a fixed hour of the day:
a climatology sampled at 00 UTC against passes at 05 and 17 UTC never sees a label
and is 0 everywhere.

- :func:`label_hours` asks the inputs which hours hold a label
  (:meth:`~wetindex.sources.base.AreaInputs.label_times`);
- :func:`sample_by_month` picks at most ``per_month`` of them per calendar month,
  spread evenly (one a day, the one nearest a preferred hour, when there are more);
- :func:`labelled_leads` gives, for each issue time, the leads whose valid time has
  a label.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def label_hours(inputs: Any, start: Any, end: Any) -> pd.DatetimeIndex:
    """The hours in ``[start, end]`` at which ``inputs`` has labels (sorted, unique)."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    ask = getattr(inputs, "label_times", None)
    hours = (ask(start.to_datetime64(), end.to_datetime64()) if ask is not None
             else pd.date_range(start.ceil("h"), end, freq="h"))
    return pd.DatetimeIndex(hours).unique().sort_values()


#: More labelled hours than this per day on average are a dense record (the demo's truth),
#: sampled once a day; satellite passes are one to a few a day.
DENSE_PER_DAY = 4


def sample_by_month(hours: pd.DatetimeIndex, per_month: int, *,
                    hour: int = 12) -> dict[int, pd.DatetimeIndex]:
    """At most ``per_month`` of ``hours`` for each calendar month (1–12), spread evenly.

    A month with more labelled hours than ``per_month``, or more than
    :data:`DENSE_PER_DAY` a day, keeps one per day first (``hour`` UTC where labels
    exist at that hour on nearly every day — with labels at every hour that is the same
    daily sample at ``hour`` as before —, else the hour nearest it), then at most
    ``per_month`` of those days, evenly spaced. A month with fewer keeps all of them
    (every pass of a sparse satellite record).
    """
    out: dict[int, pd.DatetimeIndex] = {}
    hours = pd.DatetimeIndex(hours).sort_values()
    for month in range(1, 13):
        these = hours[hours.month == month]
        if len(these) == 0:
            continue
        days = these.normalize().unique()
        if len(these) > per_month or len(these) > DENSE_PER_DAY * len(days):
            at_hour = these[these.hour == hour]
            if len(at_hour) >= 0.9 * len(days):  # labels at every hour: the day's `hour`
                these = at_hour
            else:
                frame = pd.DataFrame({"t": these, "day": these.normalize(),
                                      "off": np.abs(these.hour - hour)})
                these = pd.DatetimeIndex(frame.sort_values(["day", "off", "t"])
                                         .drop_duplicates("day")["t"]).sort_values()
        if len(these) > per_month:
            these = these[np.linspace(0, len(these) - 1, per_month).round().astype(int)]
        out[month] = these
    return out


def labelled_leads(issues: pd.DatetimeIndex, hours: pd.DatetimeIndex,
                   max_lead_h: int) -> list[np.ndarray]:
    """For each issue time, the leads (1 … ``max_lead_h``) whose valid time has a label."""
    # compared as datetime64[ns] integers: indexes of other units would never match
    held = np.asarray(pd.DatetimeIndex(hours).values, "datetime64[ns]").astype("int64")
    leads = np.arange(1, max_lead_h + 1)
    out = []
    for issue in np.asarray(pd.DatetimeIndex(issues).values, "datetime64[ns]"):
        valid = (issue + leads.astype("timedelta64[h]")).astype("datetime64[ns]").astype("int64")
        out.append(leads[np.isin(valid, held)])
    return out


def dense(hours: pd.DatetimeIndex, start: Any, end: Any) -> bool:
    """True when labels exist at (nearly) every hour of ``[start, end]`` (the demo's truth)."""
    span = (pd.Timestamp(end) - pd.Timestamp(start)) / pd.Timedelta(hours=1)
    return len(hours) >= 0.9 * max(span, 1.0)


def verification_issues(issues: pd.DatetimeIndex, hours: pd.DatetimeIndex, max_lead_h: int,
                        stride: int, bins: list[tuple[int, int]]
                        ) -> tuple[pd.DatetimeIndex, list[np.ndarray], bool]:
    """Issue times to verify and, for each, its leads with a label at the valid time.

    Every ``stride``-th issue time first (the demo's hourly truth: every lead of every
    24th hour); when that leaves a lead bin without a labelled valid time (passes at
    fixed hours seen from issues at fixed hours), every issue time instead, so each
    lead bin meets the passes. Issue times with no labelled lead are dropped.
    Returns ``(issues, leads per issue, all_issues_used)``.
    """
    def pick(chosen: pd.DatetimeIndex) -> tuple[pd.DatetimeIndex, list[np.ndarray]]:
        leads = labelled_leads(chosen, hours, max_lead_h)
        keep = [i for i, k in enumerate(leads) if len(k)]
        return chosen[keep], [leads[i] for i in keep]

    def covered(leads: list[np.ndarray]) -> bool:
        held = np.concatenate(leads) if leads else np.array([], int)
        return all(((held > lo) & (held <= hi)).any() for lo, hi in bins)

    chosen, leads = pick(issues[::max(1, stride)])
    if stride > 1 and not covered(leads):
        chosen, leads = pick(issues)
        return chosen, leads, True
    return chosen, leads, stride <= 1


def bin_cases(lead: np.ndarray, valid: np.ndarray, cell: np.ndarray, y: np.ndarray,
              bins: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """Per lead bin: the labelled valid times, cells and cases (rows) scored, how many
    were wet, and why a bin has no cases (or no wet case) in words, never a bare NaN."""
    out = []
    for lo, hi in bins:
        sel = (lead > lo) & (lead <= hi)
        row: dict[str, Any] = {"bin": f"{lo}-{hi}", "valid_times": int(np.unique(valid[sel]).size),
                               "cells": int(np.unique(cell[sel]).size), "cases": int(sel.sum()),
                               "wet": int((y[sel] == 1).sum()), "reason": None}
        if row["cases"] == 0:
            row["reason"] = (f"no label falls in leads {lo + 1}–{hi} h at these issue times")
        elif row["wet"] == 0:
            row["reason"] = (f"no water seen in the {row['cases']} cases: skill against "
                             "'never wet' is undefined (its Brier score is 0)")
        out.append(row)
    return out


#: Training needs labels over at least this many days before the hold-out.
MIN_LABELLED_DAYS = 30


def check_labelled_history(inputs: Any, train: tuple[pd.Timestamp, pd.Timestamp]) -> None:
    """Raise one error stating the rule when the labels before the hold-out span too little.

    ``train`` is the span of issue times training may use (training and validation).
    """
    hours = label_hours(inputs, train[0], pd.Timestamp(train[1]) + pd.Timedelta(hours=48))
    span = (hours[-1] - hours[0]) if len(hours) else pd.Timedelta(0)
    if span < pd.Timedelta(days=MIN_LABELLED_DAYS):
        cover = (f"the labels cover {hours[0]:%Y-%m-%d %H:%M} – {hours[-1]:%Y-%m-%d %H:%M} UTC "
                 f"({len(hours)} labelled hours, {span / pd.Timedelta(days=1):.1f} days)"
                 if len(hours) else "there is no label in it")
        raise ValueError(
            f"rule: training needs at least {MIN_LABELLED_DAYS} days of labelled history before "
            f"the hold-out (issue times {pd.Timestamp(train[0]):%Y-%m-%d} – "
            f"{pd.Timestamp(train[1]):%Y-%m-%d}); {cover}. Add labels (inputs.labels) "
            "or shorten training.holdout_days")


def case_lines(ev: dict[str, Any]) -> list[str]:
    """Markdown: the cases behind each lead bin's scores, and each bin left out and why.

    Empty for an evaluation made before case counts were kept (no ``cases`` key).
    """
    if "cases" not in ev:
        return []
    lines = ["", "## Cases per lead bin (labelled valid times × cells)", "",
             f"Verified at {ev.get('verified_at', 'the labelled valid times')}.", "",
             "| lead bin | valid times | cells | cases | wet | note |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {c['bin']} | {c['valid_times']} | {c['cells']} | {c['cases']} | {c['wet']} "
              f"| {c['reason'] or ''} |" for c in ev["cases"]]
    lines += [f"| {b['bin']} | 0 | 0 | 0 | 0 | not scored: {b['reason']} |"
              for b in ev.get("bins_without_cases", [])]
    return lines
