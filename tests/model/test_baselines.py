"""The issue-time reference sees no forecast: drivers persisted from the issue time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from wetindex.model.baselines import persisted_forecast


def test_no_rain_after_the_issue_and_sea_level_held_at_its_issue_value():
    time = pd.date_range("2026-01-01", periods=72, freq="h")
    sea = np.linspace(0.0, 2.0, 72)  # a rising surge
    observed = xr.Dataset({"rain": ("time", np.full(72, 5.0)), "sea_level": ("time", sea),
                           "groundwater_anomaly": ("time", np.full(72, 0.1)),
                           "evaporation": ("time", np.zeros(72))}, coords={"time": time})
    issue = time[[24, 48]].values
    fc = persisted_forecast(observed, issue, 48)
    assert float(fc["rain"].max()) == 0.0  # a wrong product would leak the true future rain
    np.testing.assert_allclose(fc["sea_level"].values[0], sea[24])
    np.testing.assert_allclose(fc["sea_level"].values[1], sea[48])
    assert fc.sizes == {"issue_time": 2, "lead": 48}
