"""The interface every area input provider implements.

A forecast run needs, for one area: the static inputs on the area grid, the
observed hourly driver series up to the issue time, the forecast of those
drivers for each lead, the groundwater depth field, and (for training) labels of
observed surface water. Real connectors fetch, cache and harmonise these; the
demo world computes them. Both are used through :class:`AreaInputs`, so the
pipeline's code path is the same for demo and real data.

Copy-me contract for a new provider: implement every method below; return
canonical variable names with CF ``units``; raise :class:`InputMissingError`
(never return zeros) when something is not available.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from wetindex.grid import AreaGrid

#: Canonical names of the hourly driver series and their units.
DRIVER_UNITS: dict[str, str] = {
    "rain": "mm/h",
    "evaporation": "mm/d",
    "sea_level": "m",
    "groundwater_anomaly": "m",
}


def drivers_dataset(frame: pd.DataFrame) -> xr.Dataset:
    """Hourly driver columns of ``frame`` (time index) as a dataset with CF ``units``."""
    part = frame.rename_axis("time")
    ds = xr.Dataset.from_dataframe(part)
    for name, units in DRIVER_UNITS.items():
        ds[name].attrs["units"] = units
    return ds[list(DRIVER_UNITS)]


def issue_slots(index: pd.DatetimeIndex, every_h: int) -> pd.DatetimeIndex:
    """The issue times every ``every_h`` hours within ``index``'s span."""
    step = f"{every_h}h"
    return pd.date_range(index[0].ceil(step), index[-1].floor(step), freq=step)


class InputMissingError(RuntimeError):
    """An input needed for a run is not available; names the input and since when."""

    def __init__(self, name: str, detail: str, last_time: pd.Timestamp | None = None):
        self.name = name
        self.last_time = last_time
        super().__init__(f"input '{name}' is missing: {detail}")


@dataclass(frozen=True)
class Place:
    """A named part of the area, used to name warnings."""

    name: str
    kind: str
    geometry: Any  # shapely geometry in the grid CRS


@dataclass(frozen=True)
class Attribution:
    """Who made an input and under which licence."""

    name: str
    licence: str
    attribution: str
    url: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "licence": self.licence,
                "attribution": self.attribution, "url": self.url}


class AreaInputs(ABC):
    """Harmonised inputs of one area (see module docstring)."""

    grid: AreaGrid

    @abstractmethod
    def static_inputs(self) -> xr.Dataset:
        """``elevation`` [m], ``sea`` (bool), ``stream`` (bool), ``dike_crest`` [m, NaN off
        dikes], ``land_cover``, ``permanent_water`` (bool), on the area grid."""

    @abstractmethod
    def observed(self, start: np.datetime64, end: np.datetime64) -> xr.Dataset:
        """Hourly observed drivers (:data:`DRIVER_UNITS`) on ``time`` in ``[start, end]``."""

    @abstractmethod
    def observed_end(self) -> np.datetime64:
        """Time of the latest observation available."""

    @abstractmethod
    def forecast(self, issue_time: np.datetime64) -> xr.Dataset:
        """The drivers' forecast issued at ``issue_time`` on ``lead`` (hours 1 … 48)."""

    def forecasts_many(self, issue_times: np.ndarray) -> xr.Dataset:
        """Forecasts at many issue times as one ``(issue_time, lead)`` dataset.

        The default stacks :meth:`forecast`; override when a provider holds them together.
        """
        return xr.concat([self.forecast(t).expand_dims(issue_time=[t]) for t in issue_times],
                         dim="issue_time")

    @abstractmethod
    def groundwater_depth(self, time: np.datetime64) -> xr.DataArray:
        """Groundwater depth below terrain [m] on the grid at ``time``."""

    def groundwater_depth_cells(self, times: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """Groundwater depth [m] at ``times`` × flat ``cells`` (override when faster)."""
        return np.stack([self.groundwater_depth(t).values.ravel()[cells] for t in times])

    @abstractmethod
    def labels(self, times: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """Observed surface water at ``times`` × flat ``cells``: 1 wet, 0 dry, -1 unknown."""

    def label_times(self, start: np.datetime64, end: np.datetime64) -> pd.DatetimeIndex:
        """The hours in ``[start, end]`` at which :meth:`labels` knows something.

        Verification and the seasonal normal sample labels here. The default says
        every hour (labels everywhere in time, like the demo's truth); inputs whose
        labels come from satellite passes override it with the passes' hours.
        """
        return pd.date_range(pd.Timestamp(start).ceil("h"), pd.Timestamp(end), freq="h")

    @abstractmethod
    def issue_times(self) -> pd.DatetimeIndex:
        """Issue times for which a forecast of the drivers is available."""

    @abstractmethod
    def places(self) -> list[Place]:
        """Named parts of the area."""

    @abstractmethod
    def outline(self) -> Any:
        """The area boundary (shapely geometry, grid CRS)."""

    @abstractmethod
    def attributions(self) -> list[Attribution]:
        """Attributions of every input used."""

    def observed_water(self, time: np.datetime64) -> xr.DataArray | None:
        """Latest satellite water map at or before ``time`` (int8: 1 water, 0 dry, -1
        unknown), or ``None`` when there is none."""
        return None
