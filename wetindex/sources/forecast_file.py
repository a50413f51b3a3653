"""Archived driver forecasts from a local file (``--input forecast=FILE``).

A municipality that keeps the forecasts it received (a storm-surge model's sea level,
a weather model's rain) gives them as a CSV::

    issue_time,time,sea_level,rain
    2026-01-05T06:00Z,2026-01-05T07:00Z,0.42,0.0
    ...

``issue_time`` and ``time`` (the valid time) in UTC; value columns among ``rain``
[mm/h], ``sea_level`` [m] and ``groundwater_anomaly`` [m]. At an issue time the file
holds, its values replace the persistence forecast of :mod:`wetindex.sources.local`
lead by lead; a lead or a driver it lacks keeps persistence. Without such a file the
physical forecast cannot see a surge coming (persistence holds the sea flat).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from wetindex.sources.base import InputMissingError

DRIVERS: tuple[str, ...] = ("rain", "sea_level", "groundwater_anomaly")


@lru_cache(maxsize=4)
def _read(path: str, mtime: float) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path)
    except Exception as err:
        raise InputMissingError("forecast", f"{path}: not a readable CSV ({err})") from None
    missing = {"issue_time", "time"} - set(frame.columns)
    values = [c for c in DRIVERS if c in frame.columns]
    if missing or not values:
        raise InputMissingError("forecast", f"{path}: needs columns issue_time, time (UTC) and "
                                            f"at least one of {', '.join(DRIVERS)}; got "
                                            f"{list(frame.columns)}")
    issue = pd.to_datetime(frame["issue_time"], utc=True).dt.tz_localize(None)
    valid = pd.to_datetime(frame["time"], utc=True).dt.tz_localize(None)
    lead = ((valid - issue) / pd.Timedelta(hours=1)).round().astype("int64")
    out = frame[values].apply(pd.to_numeric, errors="coerce").astype("float32")
    out.index = pd.MultiIndex.from_arrays([issue.values, lead.values],
                                          names=["issue_time", "lead"])
    return out[out.index.get_level_values("lead") >= 1].sort_index()


def read_forecast_file(path: Path) -> pd.DataFrame:
    """The archive as a frame indexed by ``(issue_time, lead)`` (cached per file version)."""
    path = Path(path)
    if not path.exists():
        raise InputMissingError("forecast", f"{path} not found; fix inputs.forecast")
    return _read(str(path), path.stat().st_mtime)


def with_archived(persistence: xr.Dataset, archive: pd.DataFrame) -> xr.Dataset:
    """``persistence`` ``(issue_time, lead)`` with the archive's values where it has them."""
    out = persistence.copy()
    issues = pd.DatetimeIndex(out["issue_time"].values)
    leads = out["lead"].values
    have = archive.index.get_level_values("issue_time").unique()
    used = 0
    for i, t in enumerate(issues):
        if t not in have:
            continue
        part = archive.loc[t].reindex(leads)
        for name in part.columns:
            if name in out:
                values = part[name].values
                ok = np.isfinite(values)
                out[name].values[i, ok] = values[ok]
        used += 1
    out.attrs["forecast_kind"] = ("archived" if used == len(issues)
                                  else "archived where issued, else persistence" if used
                                  else "persistence")
    return out
