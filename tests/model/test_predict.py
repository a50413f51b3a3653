"""The fast forecast path gives LightGBM's own probabilities, and levels stay as before."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest
import xarray as xr

from wetindex.features.stack import (
    DRIVER_FEATURES,
    FEATURES,
    STATIC_FEATURES,
    feature_rows,
)
from wetindex.model.forest import forest_from_booster
from wetindex.model.gridded import predict_cube
from wetindex.model.predict import levels

N_STATIC, N_DRIVER = len(STATIC_FEATURES), len(DRIVER_FEATURES)
LAND_COVER = STATIC_FEATURES.index("land_cover")
FILL = STATIC_FEATURES.index("bluespot_fill_rain")


def _random_static(rng: np.random.Generator, n: int) -> np.ndarray:
    s = rng.normal(0, 2, (n, N_STATIC)).astype("float32")
    s[:, LAND_COVER] = rng.integers(0, 8, n)
    s[:, FILL] = np.where(rng.random(n) < 0.4, 0.0, rng.gamma(2.0, 20.0, n))
    s[rng.random((n, N_STATIC)) < 0.05] = np.nan  # missing values take the default side
    s[:, LAND_COVER] = np.nan_to_num(s[:, LAND_COVER], nan=3)
    return s


def _random_rows(rng, static, n_leads):
    drivers = rng.normal(0, 3, (n_leads, N_DRIVER)).astype("float32")
    drivers[:, DRIVER_FEATURES.index("lead_hours")] = np.arange(1, n_leads + 1)
    gw = np.abs(rng.normal(1, 1, len(static))).astype("float32")
    gw[rng.random(len(static)) < 0.02] = np.nan
    return drivers, gw


@pytest.fixture(scope="module")
def booster() -> lgb.Booster:
    """A binary model whose label depends on static, driver and combined features."""
    rng = np.random.default_rng(1)
    static = _random_static(rng, 3000)
    drivers, gw = _random_rows(rng, static, 6)
    x = np.concatenate([feature_rows(static, drivers[li], gw) for li in range(6)])
    score = (x[:, FEATURES.index("sea_margin")] + 0.5 * x[:, FEATURES.index("rain_24h")]
             - np.nan_to_num(x[:, FEATURES.index("groundwater_depth")])
             + (x[:, LAND_COVER] == 2) + np.nan_to_num(x[:, FEATURES.index("rain_24h_fill_ratio")]))
    y = (score + rng.normal(0, 1, len(score)) > 0.5).astype(int)
    data = lgb.Dataset(x, y, feature_name=list(FEATURES), categorical_feature=[LAND_COVER])
    params = {"objective": "binary", "num_leaves": 31, "min_data_in_leaf": 5, "verbose": -1,
              "learning_rate": 0.1, "num_threads": 1}
    return lgb.train(params, data, num_boost_round=40)


def test_fast_path_equals_booster_predict_on_random_rows(booster, monkeypatch):
    from wetindex.model import gridded

    monkeypatch.setattr(gridded, "CHUNK_CELLS", 1500)  # several chunks, a partial last
    rng = np.random.default_rng(7)
    static = _random_static(rng, 5000)
    drivers, gw = _random_rows(rng, static, 7)
    # repeated and barely changed leads take the path that reuses the lead before
    drivers[4] = drivers[3]
    drivers[5] = drivers[3]
    drivers[5, DRIVER_FEATURES.index("sea_level")] += 0.3
    cells = rng.permutation(6000)[:5000]
    out = np.full((7, 6000), -1.0, dtype="float32")
    predict_cube(forest_from_booster(booster), static, gw, drivers, cells, out)
    for li in range(7):
        expected = booster.predict(feature_rows(static, drivers[li], gw))
        np.testing.assert_allclose(out[li, cells], expected, rtol=0, atol=1e-6)
    untouched = np.setdiff1d(np.arange(6000), cells)
    assert (out[:, untouched] == -1).all()


def test_fast_path_uses_the_best_iteration_like_predict(booster):
    rng = np.random.default_rng(3)
    static = _random_static(rng, 500)
    drivers, gw = _random_rows(rng, static, 2)
    booster.best_iteration = 12
    try:
        out = np.zeros((2, 500), dtype="float32")
        predict_cube(forest_from_booster(booster), static, gw, drivers, np.arange(500), out)
        np.testing.assert_allclose(out[1], booster.predict(feature_rows(static, drivers[1], gw)),
                                   atol=1e-6)
    finally:
        booster.best_iteration = 0


@pytest.mark.parametrize("lazy", [False, True])
def test_levels_give_the_highest_threshold_reached(lazy):
    rng = np.random.default_rng(0)
    p = xr.DataArray(rng.random((3, 4, 5)).astype("float32"), dims=("lead", "y", "x"))
    p[0, 0, 0] = 0.5  # exactly on a threshold counts as reaching it
    if lazy:
        p = p.chunk({"lead": 1})
    lvl = levels(p, [0.2, 0.5, 0.8])
    v = np.asarray(p.values)
    expected = (v >= 0.2).astype(int) + (v >= 0.5) + (v >= 0.8)
    np.testing.assert_array_equal(lvl.values, expected)
    assert lvl.dtype == np.uint8 and lvl.name == "level" and lvl.dims == p.dims
    assert int(lvl.values[0, 0, 0]) == 2


def test_forecast_grids_round_trip(tmp_path):
    """8-bit codes (steps of 0.5 %, 255 unknown): level in forecast.nc, one COG per fraction."""
    import rasterio

    from wetindex.forecast_io import open_forecast, write_forecast_grids
    from wetindex.grid import AreaGrid

    grid = AreaGrid("EPSG:25832", 10.0, 540_000.0, 6_335_000.0, 300, 200)
    rng = np.random.default_rng(5)
    values = rng.random((3, grid.ny, grid.nx)).astype("float32")
    values[1, 0, 0] = np.nan  # no forecast for that cell
    prob = xr.DataArray(values, dims=("lead", "y", "x"),
                        coords={"lead": [1, 2, 3], **grid.coords(),
                                "issue_time": np.datetime64("2025-01-01T00:00", "ns")},
                        name="probability")
    prob = prob.rio.write_crs(grid.crs).rio.write_transform(grid.transform)
    ds = xr.Dataset({"probability": prob, "level": levels(prob, [0.3, 0.6, 0.9])})
    write_forecast_grids(tmp_path, ds)
    back = open_forecast(tmp_path).load()  # level in forecast.nc, fractions in the COGs
    np.testing.assert_allclose(back["probability"].values, values, atol=0.0025 + 1e-7)
    assert np.isnan(back["probability"].values[1, 0, 0])
    np.testing.assert_array_equal(back["level"].values, ds["level"].values)
    with rasterio.open(tmp_path / "geotiff" / "probability.tif") as src:
        band = src.read(2)
        assert src.crs.to_epsg() == 25832 and src.nodata == 255 and src.count == 3
        assert src.transform == grid.transform
    assert band[0, 0] == 255
    ok = np.isfinite(values[1])
    np.testing.assert_allclose(band[ok] * 0.005, values[1][ok], atol=0.0025 + 1e-7)
