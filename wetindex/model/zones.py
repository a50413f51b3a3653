"""Prediction with gridded forecast rain: one set of drivers per driver zone.

The model's drivers are area series per lead (:mod:`wetindex.model.predict`). When the
inputs give the forecast rain per zone (``inputs.rain_zones(issue_time)``: the zone of
every cell and the rain ``(zone, lead)``, e.g. the HARMONIE grid points nearest to the
cells), the cells of each zone are predicted with that zone's rain in place of the
area's, in one pass of the compiled evaluator
(:func:`~wetindex.model.gridded.predict_cube` with ``zone_of_cell``): the driver
splits are evaluated once per zone and lead, the rest per cell as with area drivers.
Observed rain, sea level and groundwater stay area series. Zones with rain equal to
the area's give exactly the area prediction.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from wetindex.features.hydromet import HISTORY_NEEDED_H
from wetindex.features.stack import drivers_for_issues
from wetindex.grid import AreaGrid
from wetindex.model.forest import forest_from_booster
from wetindex.model.gridded import predict_cube
from wetindex.model.predict import ForecastInputs, _probability_array


def zone_drivers(inputs, issue_time: np.datetime64, rain_zone: np.ndarray) -> np.ndarray:
    """Drivers ``(zone, lead, n_drivers)`` with each zone's forecast rain."""
    issue_time = np.datetime64(issue_time, "ns")
    observed = inputs.observed(issue_time - np.timedelta64(HISTORY_NEEDED_H, "h"), issue_time)
    base = inputs.forecast(issue_time)
    out = []
    for rain in rain_zone:
        fc = base[["rain", "sea_level", "groundwater_anomaly"]].copy()
        fc["rain"] = ("lead", np.asarray(rain, dtype="float64"))
        out.append(drivers_for_issues(observed, fc.expand_dims(issue_time=[issue_time]),
                                      np.array([issue_time]))[0])
    return np.stack(out)


def predict_zones(booster, inputs, fin: ForecastInputs, grid: AreaGrid, *,
                  num_threads: int = 0) -> xr.DataArray:
    """The probability cube with each zone's drivers (see module docstring)."""
    zone_of_cell, rain_zone = inputs.rain_zones(fin.issue_time)
    drivers = zone_drivers(inputs, fin.issue_time, rain_zone)
    prob = np.zeros((drivers.shape[1], grid.ny * grid.nx), dtype="float32")
    predict_cube(forest_from_booster(booster), fin.static_rows, fin.groundwater_depth,
                 drivers, fin.cells, prob, zone_of_cell=zone_of_cell[fin.cells],
                 num_threads=num_threads)
    da = _probability_array(prob, fin, grid)
    da.attrs["driver_zones"] = len(rain_zone)
    return da
