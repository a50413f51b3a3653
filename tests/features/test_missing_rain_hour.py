"""One missing observed rain hour spoils only the windows that hold it: a long window
skips it (under MAX_MISSING_SHARE of its hours), a short one that holds it is missing,
and nothing after the windows that hold it changes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from wetindex.features.hydromet import HISTORY_NEEDED_H
from wetindex.features.stack import DRIVER_FEATURES, drivers_for_issues


def _inputs(hole: pd.Timestamp | None):
    time = pd.date_range("2025-01-01", periods=HISTORY_NEEDED_H + 200, freq="1h")
    rain = np.full(len(time), 0.5)
    if hole is not None:
        rain[time.get_loc(hole)] = np.nan
    observed = xr.Dataset({"rain": ("time", rain), "evaporation": ("time", np.ones(len(time))),
                           "sea_level": ("time", np.zeros(len(time))),
                           "groundwater_anomaly": ("time", np.zeros(len(time)))},
                          coords={"time": time})
    issues = time[[HISTORY_NEEDED_H + 10, HISTORY_NEEDED_H + 150]].values
    leads = np.arange(1, 49)
    fc = xr.Dataset({k: (("issue_time", "lead"), np.full((2, 48), v)) for k, v in
                     (("rain", 1.0), ("sea_level", 0.0), ("groundwater_anomaly", 0.0))},
                    coords={"issue_time": issues, "lead": leads})
    return observed, fc, issues


def test_a_missing_hour_spoils_only_its_windows():
    hole = pd.date_range("2025-01-01", periods=HISTORY_NEEDED_H + 200, freq="1h")[
        HISTORY_NEEDED_H + 5]
    observed, fc, issues = _inputs(hole)
    drivers = drivers_for_issues(observed, fc, issues)
    full = drivers_for_issues(*_inputs(None))
    col = {name: i for i, name in enumerate(DRIVER_FEATURES)}
    r72 = drivers[:, :, col["rain_72h"]]
    r72_full = full[:, :, col["rain_72h"]]
    # the first issue is 5 h after the hole: its 72 h windows up to lead 66 hold it, and
    # one hour in 72 is under MAX_MISSING_SHARE: summed without it, never NaN
    np.testing.assert_allclose(r72[0, :66], r72_full[0, :66] - 0.5)
    np.testing.assert_allclose(r72[0, 67:], r72_full[0, 67:])
    # a 24 h window at leads 5-18 holds the hole among 6-19 observed hours: more than
    # MAX_MISSING_SHARE of them, so unknown, not low; at leads 1-4 (20+ hours) it is summed
    r24 = drivers[0, :, col["rain_24h"]]
    assert np.isnan(r24[4:18]).all()
    assert np.isfinite(r24[:4]).all() and np.isfinite(r24[18:]).all()
    # 145 h later the hole is outside every 72 h window: same numbers as without it
    np.testing.assert_allclose(r72[1], full[1, :, col["rain_72h"]])
    assert np.isfinite(drivers[1, :, col["api"]]).all()
    assert np.isfinite(drivers[:, :, col["rain_1h"]]).all()
