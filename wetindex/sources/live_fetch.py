"""Time-addressed requests of the live sources, and the missing-data policy per family.

Every time series is fetched in windows aligned on :data:`WINDOW_DAYS`-day blocks
(from a fixed epoch). A block that ended at or before the as-of time is *closed*:
its request (``datetime=start/end`` exactly) is answered from the cache for good.
The block holding the as-of time is the *open tail*: it is requested as
``datetime=block_start/as_of`` and always refetched online (its key holds the
as-of time, so an offline replay at that time finds it). A "latest" listing (the
EDR ``/instances`` of a model) is keyed by the time it answered for. Forecast runs
are requested through ``/instances/{run}/…``, so each run has its own cache key.

:data:`POLICY` is the written missing-data policy: per family how long a gap may be
filled and how, which source it falls back to, and when the run refuses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd

from wetindex.sources.errors import SourceError
from wetindex.sources.session import SourceSession

#: length of the aligned windows of observation requests
WINDOW_DAYS = 7
#: windows are aligned on this Monday (so every run asks for the same closed blocks)
EPOCH = pd.Timestamp("1970-01-05")

#: What happens when a family's data are missing (see module docstring); shown by
#: ``wetindex check`` and named in ``status.json`` whenever a rule was applied.
POLICY: dict[str, dict[str, Any]] = {
    "rain": {"fill_max_h": 3, "fill": "hours missing at every station: linear interpolation "
             "up to 3 h; a longer gap stays missing (only the windows holding it are NaN)",
             "fallback": "none", "refuse": "no station answers at all"},
    "rain_forecast": {"fill_max_h": 0, "fill": "none",
                      "fallback": "Open-Meteo forecast at the area centre (openmeteo_forecast)",
                      "refuse": "neither HARMONIE nor Open-Meteo covers the 48 h"},
    "evaporation": {"fill_max_h": 72, "fill": "the last published day held up to 3 days "
                    "(climateData publishes with a delay)",
                    "fallback": "a Danish climatology (named)", "refuse": "never"},
    "sea_level": {"fill_max_h": 3, "fill": "linear interpolation up to 3 h",
                  "fallback": "none", "refuse": "no gauge answers (coastal areas)"},
    "sea_level_forecast": {"fill_max_h": 0, "fill": "none", "fallback": "none",
                           "refuse": "no DKSS run covers the 48 h (a flat sea through a surge "
                                     "would hide the warning)"},
    "groundwater": {"fill_max_h": None, "fill": "the HIP/local grid is static",
                    "fallback": "a constant depth (live.groundwater_depth_m)",
                    "refuse": "never"},
    "terrain": {"fill_max_h": None, "fill": "none",
                "fallback": "Copernicus DEM outside Denmark", "refuse": "no terrain"},
}


def time_windows(start: pd.Timestamp, as_of: pd.Timestamp
                 ) -> list[tuple[pd.Timestamp, pd.Timestamp, bool]]:
    """``(start, end, closed)`` blocks covering ``[start, as_of]`` (see module docstring)."""
    step = pd.Timedelta(days=WINDOW_DAYS)
    first = EPOCH + ((pd.Timestamp(start) - EPOCH) // step) * step
    out = []
    t = first
    while t < as_of:
        end = t + step
        out.append((t, end, True) if end <= as_of else (t, as_of, False))
        t = end
    return out


@contextmanager
def open_tail(session: SourceSession, closed: bool) -> Iterator[None]:
    """Refetch (online) while fetching the open tail; serve closed blocks from the cache."""
    before = session.refresh
    session.refresh = not closed
    try:
        yield
    finally:
        session.refresh = before


@contextmanager
def as_of(session: SourceSession, when: pd.Timestamp) -> Iterator[None]:
    """A "latest" query refetched online and cached under the time it answered for."""
    before, extra = session.refresh, dict(session.key_extra)
    session.refresh = True
    session.key_extra = {**extra, "as_of": pd.Timestamp(when).isoformat()}
    try:
        yield
    finally:
        session.refresh, session.key_extra = before, extra


def windowed(session: SourceSession, start: pd.Timestamp, end: pd.Timestamp,
             fetch_block: Callable[[pd.Timestamp, pd.Timestamp], Any],
             combine: Callable[[list[Any]], Any]) -> Any:
    """Fetch ``[start, end]`` block by block; a block with no data is skipped.

    Raises :class:`SourceError` when every block is empty (nothing to combine).
    """
    parts, problems = [], []
    for s, e, closed in time_windows(start, end):
        with open_tail(session, closed):
            try:
                parts.append(fetch_block(s, e))
            except SourceError as err:
                if "empty answer" not in str(err):
                    raise
                problems.append(str(err))
    if not parts:
        raise SourceError(session.source, "(all windows)", "empty answer in every window: "
                          + (problems[-1] if problems else "nothing asked"),
                          "check the stations and the time window")
    return combine(parts)


def model_runs(doc: Any, *, source: str, request: str) -> pd.Series:
    """Model runs of an EDR ``/instances`` answer: run time (UTC, naive) by instance id."""
    if not isinstance(doc, dict) or not isinstance(doc.get("instances"), list):
        raise SourceError(source, request, "changed schema: no 'instances' list",
                          "compare with the OGC API – EDR instances documentation")
    runs = {}
    for inst in doc["instances"]:
        ident = str(inst.get("id", ""))
        when = None
        for candidate in (ident, _first_time(inst)):
            try:
                when = pd.Timestamp(candidate)
                break
            except (TypeError, ValueError):
                continue
        if when is not None:
            runs[ident] = (when.tz_convert("UTC").tz_localize(None) if when.tzinfo else when)
    if not runs:
        raise SourceError(source, request, "empty answer: no model run listed",
                          "the model may not be published; the forecast input stays missing")
    return pd.Series(runs).sort_values()


def _first_time(inst: dict[str, Any]) -> Any:
    try:
        return inst["extent"]["temporal"]["interval"][0][0]
    except (KeyError, IndexError, TypeError):
        return None


def pick_run(runs: pd.Series, issue_time: pd.Timestamp, *, source: str, request: str,
             max_age_h: float = 12.0) -> tuple[str, pd.Timestamp]:
    """The latest run at or before ``issue_time`` (no older than ``max_age_h``)."""
    eligible = runs[runs <= issue_time]
    if eligible.empty or (issue_time - eligible.iloc[-1]) > pd.Timedelta(hours=max_age_h):
        raise SourceError(source, request,
                          f"stale feed: no model run within {max_age_h:g} h before {issue_time} "
                          f"(latest listed: {runs.iloc[-1] if len(runs) else 'none'})",
                          "the model's runs are late; the run falls back or refuses (policy)")
    return str(eligible.index[-1]), pd.Timestamp(eligible.iloc[-1])


def fill_gaps(series: pd.Series, max_hours: int) -> tuple[pd.Series, int]:
    """Interpolate gaps of at most ``max_hours`` hours; return the series and hours filled."""
    if max_hours <= 0:
        return series, 0
    missing = series.isna()
    run_id = (missing != missing.shift()).cumsum()
    run_len = missing.groupby(run_id).transform("sum")
    inner = missing & (run_len <= max_hours)
    # only gaps with values on both sides are filled; an open end stays missing
    filled = series.interpolate(limit_area="inside")
    out = series.where(~inner, filled)
    return out, int((inner & out.notna()).sum())
