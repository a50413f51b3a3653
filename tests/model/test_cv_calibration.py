"""Blocked cross-validation and calibration, on rows made in code."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from wetindex.features.stack import FEATURES
from wetindex.model.calibration import (
    apply_calibration,
    expected_calibration_error,
    fit_calibration,
    guard_calibration,
)
from wetindex.model.cv import blocked_folds, cross_validate, storm_events, time_blocks
from wetindex.model.dataset import SampleTable


def _observed(hours: int = 24 * 200, seed: int = 0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    time = pd.date_range("2024-01-01", periods=hours, freq="h")
    rain = np.zeros(hours)
    sea = rng.normal(0, 0.1, hours)
    for start in range(500, hours - 100, 900):  # a storm every ~5 weeks
        rain[start:start + 12] = 6.0
        sea[start + 6:start + 30] += 1.5
    return xr.Dataset({"rain": ("time", rain), "sea_level": ("time", sea)},
                      coords={"time": time})


def test_storms_are_found_and_never_cut_by_a_block_boundary():
    obs = _observed()
    storms = storm_events(obs)
    assert len(storms) == len(range(500, 24 * 200 - 100, 900))
    assert set(storms["kind"]) == {"both"}
    blocks = time_blocks(pd.Timestamp(obs.time.values[0]), pd.Timestamp(obs.time.values[-1]),
                         storms, n_folds=3, blocks_per_fold=2)
    for b in blocks["start"].iloc[1:]:
        assert not ((storms["start"] - pd.Timedelta(hours=24) <= b)
                    & (b <= storms["end"] + pd.Timedelta(hours=24))).any()


def _rows(n: int = 6000, seed: int = 0) -> tuple[SampleTable, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    obs = _observed()
    storms = storm_events(obs)
    t = pd.DatetimeIndex(obs.time.values)
    valid = t[rng.integers(800, len(t), n)]
    cell = rng.integers(0, 100 * 100, n)
    x = rng.normal(size=(n, len(FEATURES))).astype("float32")
    x[:, FEATURES.index("land_cover")] = rng.integers(0, 3, n)
    logit = 2.5 * x[:, FEATURES.index("sea_margin")] - 1.0
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype("int8")
    rows = SampleTable(x, y, np.ones(n, "float32"), valid.values,
                       rng.integers(1, 49, n).astype("int16"), cell)
    return rows, storms


def test_no_storm_and_no_tile_is_in_both_training_and_test():
    rows, storms = _rows()
    folds = blocked_folds(rows.valid_time, rows.cell, storms, nx=100, cell_size=10.0,
                          n_folds=3, tile_m=200.0, gap_h=120)
    tiles = (rows.cell // 100 // 20) * 5 + (rows.cell % 100) // 20
    for f in folds:
        assert len(f.test) > 100 and len(f.train) > 500
        assert f.storms_shared == 0
        assert not set(tiles[f.test]) & set(tiles[f.train])
        gap = np.abs(rows.valid_time[f.test][:, None] - rows.valid_time[f.train][None, ::50])
        assert gap.min() >= np.timedelta64(120, "h")


def test_cross_validation_scores_a_learnable_signal():
    rows, storms = _rows()
    params = {"objective": "binary", "verbose": -1, "num_leaves": 7, "num_threads": 1}
    cv = cross_validate(rows, storms, params, num_boost_round=40, nx=100, cell_size=10.0,
                        tile_m=200.0)
    assert cv["mean"]["roc_auc"] > 0.8 and cv["mean"]["brier_skill"] > 0.2
    assert all(f.get("storms_shared", 0) == 0 for f in cv["folds"])


def test_isotonic_calibration_fixes_an_overconfident_forecast_per_lead_bin():
    rng = np.random.default_rng(2)
    n = 40_000
    lead = rng.integers(1, 49, n)
    truth_p = rng.beta(0.5, 3, n)
    y = (rng.random(n) < truth_p).astype(float)
    # overconfident, and more so at long leads
    raw = np.clip(truth_p ** (0.6 + 0.01 * lead), 0, 1)
    bins = [(0, 24), (24, 48)]
    cal = fit_calibration(raw, y, lead, bins)
    assert all(m["own"] for m in cal["maps"])
    fixed = apply_calibration(raw, lead, cal)
    for lo, hi in bins:
        sel = (lead > lo) & (lead <= hi)
        before = expected_calibration_error(raw[sel], y[sel])
        after = expected_calibration_error(fixed[sel], y[sel])
        assert after < 0.5 * before and after < 0.02
    assert np.all(np.diff(apply_calibration(np.linspace(0, 1, 50), np.full(50, 30), cal)) >= 0)
    cube = np.zeros((48, 2, 2))
    cube[:, 0, 0] = 0.5
    out = apply_calibration(cube, np.arange(1, 49)[:, None, None], cal)
    assert out.shape == cube.shape and (out[:, 1, 1] == 0).all() and (out[:, 0, 0] > 0).all()
    assert apply_calibration(raw, lead, {}) is raw or np.array_equal(
        apply_calibration(raw, lead, {}), raw)
    with pytest.raises(ValueError, match="one class"):
        fit_calibration(raw, np.zeros(n), lead, bins)


def test_guard_drops_a_map_that_only_carries_another_periods_base_rate():
    rng = np.random.default_rng(4)
    n = 30_000
    lead = rng.integers(1, 49, n)
    p_true = rng.beta(0.5, 6, n)
    # validation period: twice as wet as the forecast says; elsewhere the forecast is right
    y_val = (rng.random(n) < np.clip(2 * p_true, 0, 1)).astype(float)
    cal = fit_calibration(p_true, y_val, lead, [(0, 24), (24, 48)])
    y_other = (rng.random(n) < p_true).astype(float)
    guarded = guard_calibration(cal, p_true, y_other, lead, np.ones(n))
    assert [g["kept"] for g in guarded["guard"]] == [False, False]
    np.testing.assert_allclose(apply_calibration(p_true, lead, guarded), p_true, atol=1e-6)
    # where the map does generalise, it is kept
    kept = guard_calibration(cal, p_true, (rng.random(n) < np.clip(2 * p_true, 0, 1)), lead,
                             np.ones(n))
    assert all(g["kept"] for g in kept["guard"])
