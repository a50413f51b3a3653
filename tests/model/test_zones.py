"""Gridded forecast rain: each driver zone's cells are predicted with that zone's rain."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from local_area import synthetic_model

from wetindex.features.hydromet import HISTORY_NEEDED_H
from wetindex.features.stack import STATIC_FEATURES, drivers_for_issues
from wetindex.grid import AreaGrid
from wetindex.model.predict import ForecastInputs, predict_probability
from wetindex.model.zones import predict_zones

ISSUE = pd.Timestamp("2026-01-10T06:00")


class ZonedInputs:
    """The part of a live area's inputs the zoned prediction uses, made in code."""

    def __init__(self, zone_of_cell, rain_zone):
        time = pd.date_range(ISSUE - pd.Timedelta(hours=HISTORY_NEEDED_H + 24), ISSUE,
                             freq="1h")
        rng = np.random.default_rng(1)
        self.obs = xr.Dataset({"rain": ("time", rng.gamma(0.3, 1.0, len(time))),
                               "evaporation": ("time", np.ones(len(time))),
                               "sea_level": ("time", 0.2 * np.ones(len(time))),
                               "groundwater_anomaly": ("time", np.zeros(len(time)))},
                              coords={"time": time})
        self.zone_of_cell, self.rain_zone = zone_of_cell, rain_zone

    def observed(self, start, end):
        return self.obs.sel(time=slice(start, end))

    def forecast(self, issue_time):
        leads = np.arange(1, 49)
        return xr.Dataset({"rain": ("lead", self.rain_zone.mean(0)),
                           "sea_level": ("lead", np.full(48, 0.3)),
                           "groundwater_anomaly": ("lead", np.zeros(48))},
                          coords={"lead": leads})

    def rain_zones(self, issue_time):
        return self.zone_of_cell, self.rain_zone


def test_each_zone_gets_its_own_rain():
    grid = AreaGrid("EPSG:25832", 10.0, 500_000.0, 6_300_000.0, 6, 5)
    n = grid.nx * grid.ny
    zone_of_cell = (np.arange(n) % grid.nx >= 3).astype("int32")     # west / east halves
    rain_zone = np.stack([np.zeros(48), np.r_[np.zeros(10), np.full(38, 12.0)]])
    inputs = ZonedInputs(zone_of_cell, rain_zone)
    rng = np.random.default_rng(0)
    cells = np.arange(n)
    fin = ForecastInputs(np.datetime64(ISSUE, "ns"), cells,
                         rng.normal(size=(n, len(STATIC_FEATURES))).astype("float32"),
                         np.zeros((48, 1), "float32"), rng.uniform(0, 2, n).astype("float32"))
    model = synthetic_model(ISSUE)
    zoned = predict_zones(model.booster, inputs, fin, grid).values.reshape(48, -1)
    for z in (0, 1):
        fc = inputs.forecast(ISSUE)
        fc["rain"] = ("lead", rain_zone[z])
        drivers = drivers_for_issues(inputs.obs, fc.expand_dims(issue_time=[ISSUE.to_datetime64()]),
                                     np.array([ISSUE.to_datetime64()]))[0]
        alone = predict_probability(model.booster, ForecastInputs(
            fin.issue_time, cells, fin.static_rows, drivers, fin.groundwater_depth),
            grid).values.reshape(48, -1)
        mine = zone_of_cell == z
        np.testing.assert_allclose(zoned[:, mine], alone[:, mine], atol=1e-6)
    # the two halves differ where the rain differs (the model uses rain features)
    assert not np.allclose(zoned[:, zone_of_cell == 0].mean(1), zoned[:, zone_of_cell == 1]
                           .mean(1))
