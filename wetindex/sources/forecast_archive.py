"""The archive of driver forecasts, and the substitute used before it starts.

Every live forecast run stores the harmonised driver forecasts it used
(``rain`` [mm/h], ``sea_level`` [m DVR90], ``groundwater_anomaly`` [m] on ``lead``,
with the model runs in the attributes) as ``live/archive/<issue>.nc`` in the area
folder. Training reads them for the issue times they cover, so the model learns
from inputs as good as they are at forecast time.

Before the archive starts (and for any issue time it lacks) the substitute is the
observed drivers after the issue time with an error model by lead
(:data:`SUBSTITUTE`): rain multiplied by a log-normal factor with σ growing from
0.3 at lead 1 h by 0.02 per hour (mean 1: rain totals kept), sea level plus a
normal error with σ = 0.03 m + 0.004 m per hour of lead (about DKSS's error growth
at Danish gauges, a [B] figure to be replaced by one from the archive), the
groundwater anomaly held at its issue value. The noise is seeded by the issue time,
so the same history gives the same substitute.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from wetindex.atomicdir import new_file

SUBSTITUTE = ("archived forecasts where they exist; before that the observed drivers with "
              "an error model by lead (rain × log-normal, σ = 0.3 + 0.02/h; sea level + "
              "normal, σ = 0.03 m + 0.004 m/h)")
VARIABLES = ("rain", "sea_level", "groundwater_anomaly")


def archive_dir(area_dir: Path) -> Path:
    return Path(area_dir) / "live" / "archive"


def archive_path(area_dir: Path, issue: pd.Timestamp) -> Path:
    return archive_dir(area_dir) / f"{pd.Timestamp(issue):%Y%m%dT%H%MZ}.nc"


def store(area_dir: Path, issue: pd.Timestamp, forecast: xr.Dataset) -> Path:
    """Write one run's driver forecasts (atomically; a rerun overwrites the same run)."""
    path = archive_path(area_dir, issue)
    keep = [v for v in (*VARIABLES, "rain_zone") if v in forecast]
    with new_file(path) as tmp:
        forecast[keep].to_netcdf(tmp)
    return path


def archived_issues(area_dir: Path) -> pd.DatetimeIndex:
    folder = archive_dir(area_dir)
    names = sorted(p.stem for p in folder.glob("*.nc")) if folder.exists() else []
    return pd.DatetimeIndex([pd.Timestamp(n.replace("Z", "")) for n in names])


def substitute(drivers: pd.DataFrame, issue: pd.Timestamp, max_lead_h: int) -> xr.Dataset:
    """The documented substitute forecast at ``issue`` (see module docstring)."""
    leads = np.arange(1, max_lead_h + 1)
    valid = issue + pd.to_timedelta(leads, "h")
    future = drivers.reindex(valid)
    rng = np.random.default_rng(int(issue.value // 3_600_000_000_000))
    sigma_rain = 0.3 + 0.02 * leads
    factor = np.exp(rng.normal(0.0, sigma_rain) - sigma_rain**2 / 2)
    sigma_sea = 0.03 + 0.004 * leads
    at_issue = drivers["groundwater_anomaly"].ffill().reindex([issue]).to_numpy()[0]
    return xr.Dataset(
        {"rain": ("lead", (future["rain"].to_numpy() * factor).astype("float32")),
         "sea_level": ("lead", (future["sea_level"].to_numpy()
                                + rng.normal(0.0, sigma_sea)).astype("float32")),
         "groundwater_anomaly": ("lead", np.full(len(leads), at_issue, "float32"))},
        coords={"lead": leads})


def forecasts_for_training(area_dir: Path, issue_times: np.ndarray, drivers: pd.DataFrame,
                           max_lead_h: int) -> xr.Dataset:
    """``(issue_time, lead)`` forecasts: archived where stored, else the substitute."""
    archived = set(archived_issues(area_dir))
    parts = []
    for t in pd.DatetimeIndex(issue_times):
        if t in archived:
            ds = xr.load_dataset(archive_path(area_dir, t))[list(VARIABLES)]
            ds.attrs = {"origin": "archive"}
        else:
            ds = substitute(drivers, t, max_lead_h)
        parts.append(ds.expand_dims(issue_time=[t.to_datetime64()]))
    out = xr.concat(parts, dim="issue_time")
    leads = out["lead"].values
    out = out.assign_coords(valid_time=(("issue_time", "lead"),
                                        out["issue_time"].values[:, None]
                                        + leads[None, :].astype("timedelta64[h]")))
    out.attrs["forecast_kind"] = "archive+substitute"
    return out
