"""The demo world served through the :class:`~wetindex.sources.base.AreaInputs` interface.

The model sees the demo only as a real area offers it: rain, evaporation and sea level
as observed series, driver *forecasts* with real kinds of error
(:mod:`wetindex.demo.forecasts`), and groundwater only through a national model's
coarse, late and imperfect field (:mod:`wetindex.demo.national`) — never the
simulator's own water table, soil state or water. Only the labels come from the truth.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from shapely.geometry import box

from wetindex.sources.base import AreaInputs, Attribution, InputMissingError, Place


class DemoInputs(AreaInputs):
    """Inputs of the synthetic demo area.

    Parameters
    ----------
    world : wetindex.demo.DemoWorld
        A built or loaded demo world.
    labels_from : {"truth", "satellite"}
        ``"truth"`` labels every cell-hour with the world's simulated water (the
        default for training the demo model); ``"satellite"`` labels only the
        satellite passes, with their misclassification and clouds.
    """

    def __init__(self, world: Any, labels_from: str = "truth"):
        if labels_from not in ("truth", "satellite"):
            raise ValueError(f"labels_from must be 'truth' or 'satellite', got {labels_from!r}")
        self.world = world
        self.grid = world.grid
        self.labels_from = labels_from
        self._last_pass: tuple[pd.Timestamp, xr.DataArray] | None = None

    def static_inputs(self) -> xr.Dataset:
        keep = ["elevation", "sea", "stream", "dike_crest", "land_cover", "permanent_water"]
        return self.world.static[keep]

    def observed(self, start: np.datetime64, end: np.datetime64) -> xr.Dataset:
        forcing = self.world.forcing
        first, last = forcing["time"].values[[0, -1]]
        if np.datetime64(end) > last:
            raise InputMissingError(
                "observations", f"the demo history ends at {pd.Timestamp(last)}, "
                f"requested up to {pd.Timestamp(end)}", pd.Timestamp(last))
        if np.datetime64(start) < first:
            raise InputMissingError(
                "observations", f"the demo history starts at {pd.Timestamp(first)}, "
                f"requested from {pd.Timestamp(start)}")
        # the groundwater anomaly a real area has is the national model's, not the truth
        offered = forcing[["rain", "evaporation", "sea_level", "groundwater_model_anomaly"]]
        return offered.rename(groundwater_model_anomaly="groundwater_anomaly").sel(
            time=slice(start, end))

    def observed_end(self) -> np.datetime64:
        return self.world.forcing["time"].values[-1]

    def forecast(self, issue_time: np.datetime64) -> xr.Dataset:
        fc = self.world.forecasts
        issue_time = np.datetime64(issue_time, "ns")
        if issue_time not in fc["issue_time"].values:
            raise InputMissingError(
                "forecast", f"no demo forecast issued at {pd.Timestamp(issue_time)} "
                f"(issued every {self.world.config.forecast_every_h} h)")
        return fc.sel(issue_time=issue_time)[["rain", "sea_level", "groundwater_anomaly"]]

    def forecasts_many(self, issue_times: np.ndarray) -> xr.Dataset:
        """Forecasts at many issue times at once, ``(issue_time, lead)``."""
        return self.world.forecasts[["rain", "sea_level", "groundwater_anomaly"]].sel(
            issue_time=np.asarray(issue_times, "datetime64[ns]"))

    def groundwater_depth(self, time: np.datetime64) -> xr.DataArray:
        """The national model's depth of the water table below terrain [m] at ``time``."""
        field = self.world.static["groundwater_model_depth"]
        anomaly = self.world.forcing["groundwater_model_anomaly"].sel(
            time=np.datetime64(time, "ns")).values
        depth = np.maximum(field.values - anomaly, 0.0).astype("float32")
        return field.copy(data=depth).rename("groundwater_depth")

    def groundwater_depth_cells(self, times: np.ndarray, cells: np.ndarray) -> np.ndarray:
        # the national field is a static depth lowered by one area anomaly, so many
        # times × few cells need no full-grid work
        base = self.world.static["groundwater_model_depth"].values.ravel()[cells]
        anomaly = self.world.forcing["groundwater_model_anomaly"].sel(
            time=np.asarray(times, "datetime64[ns]")).values
        return np.maximum(base[None, :] - anomaly[:, None], 0.0).astype("float32")

    def labels(self, times: np.ndarray, cells: np.ndarray) -> np.ndarray:
        if self.labels_from == "truth":
            return self.world.water(times, cells=cells).values.astype("int8")
        out = np.full((len(times), len(cells)), -1, dtype="int8")
        passes = pd.DatetimeIndex(self.world.satellite_passes["time"]).round("h")
        for i, t in enumerate(pd.DatetimeIndex(times)):
            if t in passes:
                out[i] = self.world.observed_water(np.datetime64(t)).values.ravel()[cells]
        return out

    def label_times(self, start: np.datetime64, end: np.datetime64) -> pd.DatetimeIndex:
        """Every hour for the truth; the satellite passes' hours otherwise."""
        if self.labels_from == "truth":
            return super().label_times(start, end)
        hours = pd.DatetimeIndex(self.world.satellite_passes["time"]).round("h").unique()
        return hours[(hours >= pd.Timestamp(start)) & (hours <= pd.Timestamp(end))].sort_values()

    def issue_times(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.world.forecasts["issue_time"].values)

    def places(self) -> list[Place]:
        return [Place(p.name, p.kind, p.geometry) for p in self.world.places]

    def outline(self) -> Any:
        return box(*self.grid.bounds)

    def attributions(self) -> list[Attribution]:
        return [Attribution(
            name="wetindex demo world",
            licence="CC0 1.0",
            attribution="Synthetic terrain, weather, sea level and water made by wetindex "
                        "(not real data)",
        )]

    def observed_water(self, time: np.datetime64) -> xr.DataArray | None:
        passes = self.world.satellite_passes
        earlier = passes[pd.DatetimeIndex(passes["time"]) <= pd.Timestamp(time)]
        if earlier.empty:
            return None
        t = pd.Timestamp(earlier["time"].iloc[-1])
        if self._last_pass is None or self._last_pass[0] != t:  # one map per pass, reused
            water = self.world.observed_water(np.datetime64(t))
            water.attrs["time"] = t.isoformat()
            water.attrs["sensor"] = str(earlier["sensor"].iloc[-1])
            self._last_pass = (t, water)
        return self._last_pass[1]
