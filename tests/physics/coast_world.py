"""A small coast made in code: sea, beach, a dike, a polder, rising land, a hollow, a stream.

Columns (x, 10 m cells, west to east): sea (x < 10, -1 m), beach rising 0.5 → 1.5 m,
the dike at x = 15 (crest :data:`CREST` m on 1.5 m ground), the polder (x 16–35, 0.5 m),
then land rising 0.2 m per cell to the east. Two round hollows 1 m deep lie in the rising
land, one downslope of the other; a stream channel 1 m deep runs east–west along row
:data:`STREAM_ROW` east of the polder.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from wetindex.features.terrain import static_features
from wetindex.grid import AreaGrid
from wetindex.sources.base import AreaInputs, InputMissingError

NY, NX = 60, 80
CREST = 3.0
STREAM_ROW = 50
HOLLOW = (25, 58)  # centre (row, col)
HOLLOW_RADIUS = 4
LOWER_HOLLOW = (25, 45)  # downslope of HOLLOW: its overflow runs in here


def grid() -> AreaGrid:
    return AreaGrid("EPSG:25832", 10.0, 500_000.0, 6_200_000.0, NX, NY)


def terrain() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Elevation, sea mask, dike crest (NaN off the dike), stream mask."""
    x = np.arange(NX)[None, :].repeat(NY, 0).astype("float64")
    y = np.arange(NY)[:, None].repeat(NX, 1).astype("float64")
    z = np.where(x < 10, -1.0, 0.5 + (x - 10) * 0.25)  # beach
    z = np.where(x >= 15, 1.5, z)
    z = np.where(x >= 16, 0.5, z)  # polder
    z = np.where(x >= 36, 0.5 + (x - 35) * 0.2, z)  # rising land
    r = np.hypot(y - HOLLOW[0], x - HOLLOW[1])
    z = z - np.clip(1.0 - (r / HOLLOW_RADIUS) ** 2, 0, None)  # the hollow, 1 m deep
    r2 = np.hypot(y - LOWER_HOLLOW[0], x - LOWER_HOLLOW[1])
    z = z - np.clip(1.0 - (r2 / 3) ** 2, 0, None)
    stream = (y == STREAM_ROW) & (x >= 36)
    z = np.where(stream, z - 1.0, z)
    sea = x < 10
    crest = np.where(x == 15, CREST, np.nan)
    return z.astype("float32"), sea, crest.astype("float32"), stream


def static() -> xr.Dataset:
    g = grid()
    z, sea, crest, stream = terrain()
    return static_features(g.data_array(z, "elevation", "m"), g.data_array(sea, "sea"),
                           stream=g.data_array(stream, "stream"),
                           dike_crest=g.data_array(crest, "dike_crest", "m"),
                           permanent_water=g.data_array(stream, "permanent_water"))


class CoastInputs(AreaInputs):
    """Drivers for :func:`static`: hourly series and a forecast at one issue time.

    ``observed`` rain and sea level are constant (``base_rain``, ``base_sea``) unless
    given; the forecast is ``forecast_sea`` / ``forecast_rain`` (arrays on lead).
    ``history`` maps issue times to past forecasts for the spread estimate.
    """

    def __init__(self, issue_time: pd.Timestamp, forecast_sea: np.ndarray,
                 forecast_rain: np.ndarray, *, base_sea: float = 0.0,
                 groundwater_depth_m: float = 2.0, history: dict | None = None,
                 observed_sea: pd.Series | None = None, forecast_kind: str = "forecast"
                 ) -> None:
        self.grid = grid()
        self.issue = pd.Timestamp(issue_time)
        self.fc_sea = np.asarray(forecast_sea, "float64")
        self.fc_rain = np.asarray(forecast_rain, "float64")
        self.base_sea = base_sea
        self.depth = groundwater_depth_m
        self.history = history or {}
        self.observed_sea = observed_sea
        self.forecast_kind = forecast_kind
        self.times = pd.date_range(self.issue - pd.Timedelta(days=90), self.issue, freq="h")

    def static_inputs(self):
        raise NotImplementedError

    def observed(self, start, end):
        t = self.times[(self.times >= pd.Timestamp(start)) & (self.times <= pd.Timestamp(end))]
        if len(t) == 0 or t[-1] < pd.Timestamp(end):
            raise InputMissingError("observations", "not observed yet")
        sea = (self.observed_sea.reindex(t).values if self.observed_sea is not None
               else np.full(len(t), self.base_sea))
        return xr.Dataset({"rain": ("time", np.zeros(len(t))),
                           "evaporation": ("time", np.full(len(t), 1.0)),
                           "sea_level": ("time", sea),
                           "groundwater_anomaly": ("time", np.zeros(len(t)))},
                          coords={"time": t.values})

    def observed_end(self):
        return self.times[-1].to_datetime64()

    def forecast(self, issue_time):
        t = pd.Timestamp(issue_time)
        if t in self.history:
            sea, rain = self.history[t]
        elif t == self.issue:
            sea, rain = self.fc_sea, self.fc_rain
        else:
            raise InputMissingError("forecast", f"none at {t}")
        lead = np.arange(1, len(sea) + 1)
        return xr.Dataset({"sea_level": ("lead", sea), "rain": ("lead", rain),
                           "groundwater_anomaly": ("lead", np.zeros(len(sea)))},
                          coords={"lead": lead}, attrs={"forecast_kind": self.forecast_kind})

    def groundwater_depth(self, time):
        return self.grid.data_array(np.full(self.grid.shape, self.depth, "float32"),
                                    "groundwater_depth", "m")

    def labels(self, times, cells):
        raise InputMissingError("labels", "none")

    def issue_times(self):
        return pd.DatetimeIndex(sorted([*self.history, self.issue]))

    def places(self):
        return []

    def outline(self):
        return None

    def attributions(self):
        return []
