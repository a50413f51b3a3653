"""The nowcast reference sees the observed drivers at the valid time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from wetindex.features.hydromet import HISTORY_NEEDED_H
from wetindex.features.stack import DRIVER_FEATURES, drivers_for_issues, observed_as_forecast


def test_observed_drivers_laid_out_as_a_perfect_forecast():
    hours = HISTORY_NEEDED_H + 200
    rng = np.random.default_rng(0)
    time = pd.date_range("2024-01-01", periods=hours, freq="h")
    obs = xr.Dataset({"rain": ("time", rng.exponential(0.5, hours)),
                      "evaporation": ("time", np.full(hours, 1.0)),
                      "sea_level": ("time", rng.normal(0, 0.3, hours)),
                      "groundwater_anomaly": ("time", rng.normal(0, 0.1, hours))},
                     coords={"time": time})
    issues = time[[HISTORY_NEEDED_H + 10, HISTORY_NEEDED_H + 70]].values
    fc = observed_as_forecast(obs, issues, 48)
    d = drivers_for_issues(obs, fc, issues)
    col = {n: i for i, n in enumerate(DRIVER_FEATURES)}
    i0 = HISTORY_NEEDED_H + 10
    for lead in (1, 6, 48):
        v = i0 + lead
        assert d[0, lead - 1, col["rain_1h"]] == pytest.approx(obs["rain"].values[v], rel=1e-5)
        assert d[0, lead - 1, col["rain_6h"]] == pytest.approx(
            obs["rain"].values[v - 5:v + 1].sum(), rel=1e-5)
        assert d[0, lead - 1, col["sea_level"]] == pytest.approx(obs["sea_level"].values[v],
                                                                 rel=1e-5)
    with pytest.raises(ValueError, match="observations end"):
        observed_as_forecast(obs, time[[-10]].values, 48)
