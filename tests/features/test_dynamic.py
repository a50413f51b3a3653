"""The gridded dynamic cube: lazy on Dask, equal to NumPy, exact regridding, upstream rain."""

from __future__ import annotations

import dask
import dask.array as dsa
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wetindex.features import dynamic, terrain
from wetindex.features.hydromet import HISTORY_NEEDED_H, DriverInputError
from wetindex.grid import AreaGrid

N = 40
LEADS = np.arange(1, 49)
CRS = "EPSG:25832"


def raise_on_compute(dsk, keys, **kwargs):
    raise AssertionError("a Dask graph was computed where the result should stay lazy")


def _terrain(n: int = N, seed: int = 0):
    rng = np.random.default_rng(seed)
    grid = AreaGrid(CRS, 10.0, 500_000.0, 6_300_000.0, n, n)
    z = (np.linspace(6.0, 0.0, n)[:, None] + 1.5 * rng.random((n, n))).astype("float32")
    sea = np.zeros((n, n), bool)
    sea[-max(1, n // 10):] = True
    z[sea] = -1.0
    z[n // 3, n // 3] = np.nan  # nodata inside the area
    crest = np.full((n, n), np.nan, "float32")
    crest[-max(2, n // 7), : n // 2] = 4.0
    elev = grid.data_array(z, "elevation", "m")
    sea_da = grid.data_array(sea, "sea")
    static = terrain.static_features(elev, sea_da, dike_crest=grid.data_array(crest, "crest", "m"))
    return grid, elev, sea_da, static


@pytest.fixture(scope="module")
def area():
    grid, elev, sea, static = _terrain()
    return grid, elev, static, dynamic.flow_network(elev, sea)


def _inputs(area, seed: int = 1):
    grid, _, static, net = area
    rng = np.random.default_rng(seed)
    n_time = HISTORY_NEEDED_H + 30
    time = pd.date_range("2024-03-01", periods=n_time, freq="h")
    issue = time[-1].to_datetime64()
    # rain on a 150 m grid (3 x 3 cells) that covers the 400 m area
    coarse = AreaGrid(CRS, 150.0, 499_975.0, 6_300_025.0, 3, 3)

    def rain(shape):
        return np.where(rng.random(shape) < 0.3, rng.gamma(0.7, 2.0, shape), 0.0)

    return dict(
        issue_time=issue,
        rain_observed=xr.DataArray(rain((n_time, 3, 3)), dims=("time", "y", "x"), name="rain",
                                   coords={"time": time, **coarse.coords()}).rio.write_crs(CRS),
        rain_forecast=xr.DataArray(rain((48, 3, 3)), dims=("lead", "y", "x"), name="rain",
                                   coords={"lead": LEADS, **coarse.coords()}).rio.write_crs(CRS),
        evaporation_observed=xr.DataArray(1.5 + np.sin(np.arange(n_time) / 90.0), dims="time",
                                          coords={"time": time}),
        sea_level_observed=xr.DataArray(0.5 * np.sin(np.arange(n_time) / 2.0), dims="time",
                                        coords={"time": time}),
        sea_level_forecast=xr.DataArray(np.linspace(0.0, 5.0, 48), dims="lead",
                                        coords={"lead": LEADS}),
        groundwater_depth=grid.data_array(rng.uniform(0, 2, grid.shape), "gw", "m"),
        groundwater_rise=xr.DataArray(np.linspace(0, 0.6, 48), dims="lead", coords={"lead": LEADS}),
        static=static, flow=net,
    )


def _lazy(kw):
    out = dict(kw)
    out["rain_observed"] = kw["rain_observed"].chunk({"time": 200})
    out["rain_forecast"] = kw["rain_forecast"].chunk({"lead": 12})
    out["evaporation_observed"] = kw["evaporation_observed"].chunk({"time": 300})
    out["groundwater_depth"] = kw["groundwater_depth"].chunk({"y": 16, "x": 16})
    return out


def test_cube_stays_lazy_on_dask_and_equals_numpy(area):
    kw = _inputs(area)
    eager = dynamic.dynamic_features(**kw)
    with dask.config.set(scheduler=raise_on_compute):
        lazy = dynamic.dynamic_features(**_lazy(kw))
    gridded = [v for v in lazy.data_vars if lazy[v].dims == ("lead", "y", "x")]
    assert len(gridded) == 15
    assert all(isinstance(lazy[v].data, dsa.Array) for v in gridded)
    assert lazy["rain_24h"].chunks[0] == (1,) * 48  # streamable lead by lead
    for name in eager.data_vars:
        assert lazy[name].dims == eager[name].dims
        assert lazy[name].attrs["units"] == eager[name].attrs["units"]
        np.testing.assert_allclose(lazy[name].values, eager[name].values, rtol=1e-6, atol=1e-6,
                                   err_msg=name)
    assert lazy.rio.crs == area[1].rio.crs
    np.testing.assert_array_equal(lazy["x"].values, area[1]["x"].values)
    assert eager["rain_1h"].dims == ("lead", "y", "x")
    assert (eager["valid_time"].values == kw["issue_time"] + LEADS.astype("timedelta64[h]")).all()


def test_coarse_rain_gives_the_same_cube_as_rain_regridded_first(area):
    kw = _inputs(area)
    elev = area[1]
    fine = dict(kw, rain_observed=dynamic.regrid_nearest(kw["rain_observed"], elev),
                rain_forecast=dynamic.regrid_nearest(kw["rain_forecast"], elev))
    a, b = dynamic.dynamic_features(**kw), dynamic.dynamic_features(**fine)
    # rain at the area's resolution, chunked in space: lazy, and the same numbers
    fine_lazy = dict(fine, rain_observed=fine["rain_observed"].chunk({"time": 400, "y": 20}),
                     rain_forecast=fine["rain_forecast"].chunk({"lead": 24, "x": 20}))
    with dask.config.set(scheduler=raise_on_compute):
        c = dynamic.dynamic_features(**fine_lazy)
    for name in ("rain_1h", "rain_72h", "api", "rain_minus_evaporation_30d", "upstream_rain_6h"):
        np.testing.assert_allclose(a[name].values, b[name].values, rtol=1e-5, atol=1e-5,
                                   err_msg=name)
        np.testing.assert_allclose(c[name].values, b[name].values, rtol=1e-5, atol=1e-5,
                                   err_msg=name)


def test_rain_windows_mix_observed_and_forecast(area):
    kw = _inputs(area)
    cube = dynamic.dynamic_features(**kw)
    fc = dynamic.regrid_nearest(kw["rain_forecast"], area[1])
    obs = dynamic.regrid_nearest(kw["rain_observed"], area[1])
    np.testing.assert_allclose(cube["rain_1h"].isel(lead=0), fc.isel(lead=0), rtol=1e-6)
    # 6 h ending at lead 2: the last 4 observed hours and 2 forecast hours
    expected = obs.isel(time=slice(-4, None)).sum("time") + fc.isel(lead=slice(0, 2)).sum("lead")
    np.testing.assert_allclose(cube["rain_6h"].sel(lead=2), expected, rtol=1e-5)


def test_sea_margins_and_groundwater(area):
    kw = _inputs(area)
    cube = dynamic.dynamic_features(**kw)
    static = kw["static"]
    protected = static["dike_protected"].values
    assert protected.any()
    lead = 48  # sea at 5 m: over the 4 m crest
    margin = cube["sea_margin"].sel(lead=lead).values
    np.testing.assert_allclose(margin, 5.0 - static["sea_flood_level"].values, atol=1e-5)
    over = cube["sea_margin_over_dike_crest"].sel(lead=lead).values
    assert np.isnan(over[~protected]).all() and np.isfinite(over[protected]).all()
    breached = cube["sea_margin_if_breached"].sel(lead=lead).values
    assert (breached[protected] > margin[protected]).all()
    np.testing.assert_allclose(breached[~protected], margin[~protected])
    gw = cube["groundwater_depth"].values
    assert np.nanmin(gw) >= 0 and (gw[-1] == 0).any()  # the rise reaches the surface
    np.testing.assert_allclose(gw[-1], np.clip(kw["groundwater_depth"].values - 0.6, 0, None),
                               atol=1e-6,
                               rtol=1e-5)


def _upstream_by_paths(values: np.ndarray, idxs_ds: np.ndarray) -> np.ndarray:
    """Independent reference: follow every cell's path down and add it to each cell passed."""
    total = np.zeros(values.size)
    count = np.zeros(values.size)
    for start in np.flatnonzero(idxs_ds >= 0):
        i = start
        while True:
            if np.isfinite(values[start]):
                total[i] += values[start]
                count[i] += 1
            if idxs_ds[i] == i:
                break
            i = idxs_ds[i]
    with np.errstate(invalid="ignore"):
        out = total / count
    out[idxs_ds < 0] = np.nan
    return out


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(4, 14))
def test_upstream_mean_equals_the_mean_over_upstream_paths(seed, n):
    _, elev, sea, _ = _terrain(n, seed)
    net = dynamic.flow_network(elev, sea)
    rng = np.random.default_rng(seed)
    rain = rng.gamma(0.5, 2.0, (2, n, n)).astype("float32")
    rain[0, rng.random((n, n)) < 0.1] = np.nan  # missing values are left out
    da = xr.DataArray(rain, dims=("lead", "y", "x"), coords={"y": elev.y, "x": elev.x})
    out = dynamic.upstream_mean(da, net, "upstream_rain").values
    for k in range(2):
        ref = _upstream_by_paths(rain[k].ravel().astype("float64"), net.idxs_ds)
        np.testing.assert_allclose(out[k].ravel(), ref, rtol=1e-5, atol=1e-6)
    # a uniform rain is uniform over every catchment
    ones = dynamic.upstream_mean(xr.full_like(da, 2.0), net, "u").values
    valid = ~np.isnan(elev.values)
    np.testing.assert_allclose(ones[:, valid], 2.0, rtol=1e-6)


def test_regrid_nearest_is_exact_and_refuses_bad_grids(area):
    _, elev, _, _ = area
    coarse = AreaGrid(CRS, 200.0, 500_000.0, 6_300_000.0, 2, 2)
    field = coarse.data_array(np.array([[1.0, 2.0], [3.0, 4.0]]), "rain", "mm")
    out = dynamic.regrid_nearest(field, elev)
    np.testing.assert_array_equal(np.unique(out.values[:20, :20]), [1.0])
    np.testing.assert_array_equal(np.unique(out.values[20:, 20:]), [4.0])
    assert out.rio.crs == elev.rio.crs and out.attrs["units"] == "mm"
    small = AreaGrid(CRS, 100.0, 500_000.0, 6_300_000.0, 2, 2).data_array(np.ones((2, 2)), "rain")
    with pytest.raises(DriverInputError, match="does not cover the area"):
        dynamic.regrid_nearest(small, elev)
    with pytest.raises(DriverInputError, match="reproject"):
        dynamic.regrid_nearest(field.rio.write_crs("EPSG:3035"), elev)


def test_cube_refuses_missing_static_and_mismatched_leads(area):
    kw = _inputs(area)
    with pytest.raises(DriverInputError, match="sea_flood_level"):
        dynamic.dynamic_features(**dict(kw, static=kw["static"].drop_vars("sea_flood_level")))
    with pytest.raises(DriverInputError, match="leads differ"):
        dynamic.dynamic_features(**dict(kw, groundwater_rise=kw["groundwater_rise"].isel(lead=[0])))


def test_negative_rain_fails_when_the_lazy_cube_is_computed(area):
    kw = _lazy(_inputs(area))
    bad = kw["rain_observed"].copy()
    bad[-3, 1, 1] = -1.0
    cube = dynamic.dynamic_features(**dict(kw, rain_observed=bad))  # building stays lazy
    with pytest.raises(DriverInputError, match="negative"):
        cube["rain_24h"].isel(lead=0).compute()
