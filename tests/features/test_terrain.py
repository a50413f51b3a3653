"""Tests of the static terrain features: hand-made grids with known answers, properties
on random DEMs, laziness on Dask, clear errors, and a real DEM."""

from __future__ import annotations

from pathlib import Path

import dask
import dask.array as dsa
import numpy as np
import pyflwdir
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from wetindex.features import terrain as t
from wetindex.grid import AreaGrid

CELL = 10.0


def grid_of(values, name="elevation", units="m", cell=CELL) -> xr.DataArray:
    values = np.asarray(values)
    g = AreaGrid("EPSG:25832", cell, 500_000.0, 6_300_000.0, values.shape[1], values.shape[0])
    return g.data_array(values, name, units)


def bowl(n: int = 7) -> np.ndarray:
    """Square bowl: centre 0, rising 1 m per ring, edge ring at (n - 1) / 2."""
    r, c = np.indices((n, n))
    m = (n - 1) // 2
    return np.maximum(abs(r - m), abs(c - m)).astype(np.float64)


def raise_on_compute(dsk, keys, **kwargs):
    raise AssertionError("a Dask graph was computed where the result should stay lazy")


# --- hand-made grids with known answers --------------------------------------------


def test_single_pit_depth_level_volume_and_fill_rain():
    z = bowl(7)  # rim at 3 all round: everything inside fills to 3
    ds = t.bluespots(grid_of(z), min_depth=0.05, min_cells=1)
    inside = np.zeros_like(z, dtype=bool)
    inside[1:-1, 1:-1] = True
    np.testing.assert_array_equal(ds["bluespot_id"].values, inside.astype(np.int32))
    np.testing.assert_allclose(ds["bluespot_depth"].values, np.where(inside, 3 - z, 0))
    assert ds["bluespot_depth"].values[3, 3] == 3.0
    np.testing.assert_array_equal(ds["bluespot_level"].values[inside], 3.0)
    assert np.isnan(ds["bluespot_level"].values[~inside]).all()
    volume = (3 + 8 * 2 + 16 * 1) * CELL**2
    np.testing.assert_allclose(ds["bluespot_volume"].values[inside], volume)
    assert (ds["bluespot_volume"].values[~inside] == 0).all()
    # catchment: the 25 inner cells (the rim cells are outlets at the grid edge)
    np.testing.assert_array_equal(ds["bluespot_catchment"].values, inside.astype(np.int32))
    np.testing.assert_allclose(ds["bluespot_fill_rain"].values[inside],
                               volume / (25 * CELL**2) * 1000)
    assert ds["bluespot_depth"].attrs["units"] == "m"
    assert ds["bluespot_volume"].attrs["units"] == "m3"
    assert ds["bluespot_id"].dtype == np.int32


def test_pit_spills_at_its_lowest_rim_cell():
    z = bowl(7)
    z[0, 3] = 2.0  # a notch in the rim
    filled = t.fill_depressions(grid_of(z)).values
    np.testing.assert_array_equal(filled[1:-1, 1:-1], 2.0)
    ds = t.bluespots(grid_of(z), min_cells=1)
    assert ds["bluespot_id"].values.max() == 1
    assert int((ds["bluespot_id"] == 1).sum()) == 9  # depth >= 0.05 only inside ring 1
    assert ds["bluespot_depth"].values[3, 3] == 2.0
    assert ds["bluespot_level"].values[3, 3] == 2.0
    np.testing.assert_allclose(ds["bluespot_volume"].values[3, 3], (2 + 8 * 1) * CELL**2)


def test_two_basins_one_spilling_into_the_other():
    z = np.full((5, 10), 6.0)
    z[1:4, 1:4] = 1.0  # basin A
    z[1:4, 4] = 4.0  # ridge between A and B
    z[1:4, 5:9] = 0.0  # basin B
    z[2, 9] = 3.0  # B's outlet: a low cell on the east edge
    ds = t.bluespots(grid_of(z), min_cells=1)
    ids = ds["bluespot_id"].values
    a, b = ids[2, 2], ids[2, 6]
    assert {a, b} == {1, 2}
    assert (ids[1:4, 1:4] == a).all() and (ids[1:4, 5:9] == b).all()
    assert ds["bluespot_level"].values[2, 2] == 4.0  # A spills over the ridge
    assert ds["bluespot_level"].values[2, 6] == 3.0  # B spills through the channel
    vol_a, vol_b = 9 * 3.0 * CELL**2, 12 * 3.0 * CELL**2
    assert ds["bluespot_volume"].values[2, 2] == pytest.approx(vol_a)
    assert ds["bluespot_volume"].values[2, 6] == pytest.approx(vol_b)
    catch = ds["bluespot_catchment"].values
    assert (catch[1:4, 4] == b).all()  # the ridge drains into B
    assert int((catch == a).sum()) == 9 and int((catch == b).sum()) == 15
    assert ds["bluespot_fill_rain"].values[2, 2] == pytest.approx(vol_a / (9 * CELL**2) * 1000)
    assert ds["bluespot_fill_rain"].values[2, 6] == pytest.approx(vol_b / (15 * CELL**2) * 1000)
    # B's outlet cell collects everything but the edge cells of the grid
    acc = t.flow_accumulation(grid_of(z)).values
    assert acc[2, 9] == 9 + 3 + 12 + 1  # A, ridge, B and itself


def dike_ring_world():
    z = np.full((9, 9), 1.0)
    z[:, :2] = -2.0  # sea in the west
    z[3:6, 4:7] = -1.0  # polder below sea level
    crest = np.full_like(z, np.nan)
    crest[2:7, 3:8] = 3.0
    crest[3:6, 4:7] = np.nan  # a ring dike around the polder
    sea = np.zeros_like(z, dtype=bool)
    sea[:, :2] = True
    return z, sea, crest


def test_dike_ring_keeps_polder_dry_until_the_sea_exceeds_the_crest():
    z, sea, crest = dike_ring_world()
    polder = np.isnan(crest) & (z == -1.0)
    ds = t.static_features(grid_of(z), grid_of(sea, "sea"), dike_crest=grid_of(crest, "crest"))
    level = ds["sea_flood_level"].values
    np.testing.assert_array_equal(level[polder], 3.0)
    np.testing.assert_array_equal(level[sea], -2.0)  # sea cells: their own elevation

    def flooded(sea_level):  # bathtub with the dikes respected
        return level < sea_level

    assert not flooded(2.9)[polder].any() and flooded(2.9)[~sea & ~polder & np.isnan(crest)].all()
    assert flooded(3.1)[polder].all()
    prot = t.dike_protection(grid_of(z), grid_of(sea, "sea"), grid_of(crest, "crest"))
    np.testing.assert_array_equal(prot["dike_protected"].values, polder)
    np.testing.assert_array_equal(ds["dike_protected"].values, polder)
    # without the dike the polder floods when the sea tops the land around it (1 m)
    np.testing.assert_allclose(prot["dike_crest_margin"].values[polder], 2.0)
    assert np.isnan(prot["dike_crest_margin"].values[~polder]).all()
    assert ds["sea_connected"].values[polder].all() and not ds["sea_connected"].values[sea].any()


def test_dike_in_the_elevation_itself_is_respected():
    z, sea, crest = dike_ring_world()
    z_dike = np.where(np.isnan(crest), z, 3.0)
    level = t.sea_flood_level(grid_of(z_dike), grid_of(sea, "sea")).values
    assert (level[3:6, 4:7] == 3.0).all() and (level[0, 2:] == 1.0).all()


def test_hand_zero_on_stream_and_rising_uphill():
    z = np.tile(np.arange(10, dtype=float) * 0.5, (6, 1))  # slope rising east
    z += np.arange(6)[:, None] * 0.01
    stream = np.zeros_like(z, dtype=bool)
    stream[:, 0] = True
    h = t.hand(grid_of(z), grid_of(stream, "stream"), outlets=grid_of(stream, "outlets")).values
    assert (h[:, 0] == 0).all()
    assert (np.diff(h, axis=1) > 0).all()  # monotone uphill away from the stream
    np.testing.assert_allclose(h, z - z[:, :1], atol=0.011)


def test_flat_coastal_plain_drains_to_the_nearest_outlet():
    z = np.full((30, 40), 0.5)
    sea = np.zeros_like(z, dtype=bool)
    sea[-3:, :] = True
    z[sea] = -1.0
    outlets = np.zeros_like(sea)
    outlets[0, :] = outlets[-1, :] = outlets[:, 0] = outlets[:, -1] = True
    outlets |= sea
    flw = t.flow_directions(grid_of(z), grid_of(outlets, "outlets"))
    assert isinstance(flw, pyflwdir.FlwdirRaster)
    assert flw.idxs_seq.size == z.size  # every cell drains to an outlet
    r, c = np.indices(z.shape)
    # chessboard distance to the nearest outlet cell (edge or sea)
    dist = np.minimum.reduce([r, c, z.shape[1] - 1 - c, np.maximum(27 - r, 0)])
    np.testing.assert_array_equal(flw.rank.reshape(z.shape), dist)


def test_distance_to_known_values():
    mask = np.zeros((5, 6), dtype=bool)
    mask[2, 1] = True
    d = t.distance_to(grid_of(mask, "stream"), "distance_to_stream")
    assert d.attrs["units"] == "m" and d.name == "distance_to_stream"
    assert d.values[2, 1] == 0 and d.values[2, 4] == pytest.approx(30.0)
    assert d.values[0, 3] == pytest.approx(np.hypot(20, 20))
    none = t.distance_to(grid_of(np.zeros((4, 4), bool), "s"), "distance_to_stream")
    assert np.isnan(none.values).all()


def test_slope_of_a_plane_and_twi():
    _, c = np.indices((6, 8))
    z = c * 1.0  # 1 m per 10 m cell eastwards: 10 %
    s = t.slope(grid_of(z))
    np.testing.assert_allclose(s.values[1:-1, 1:-1], np.degrees(np.arctan(0.1)), rtol=1e-6)
    acc = grid_of(np.full(z.shape, 4.0), "flow_accumulation", "cells")
    w = t.twi(acc, s)
    np.testing.assert_allclose(w.values[2, 3], np.log(40 / 0.1), rtol=1e-5)
    flat = t.twi(acc, grid_of(np.zeros(z.shape), "slope", "degree"))
    np.testing.assert_allclose(flat.values, np.log(40 / 0.001), rtol=1e-5)


def test_static_features_names_units_and_crs():
    rng = np.random.default_rng(1)
    z = bowl(15) + rng.random((15, 15))
    sea = np.zeros_like(z, dtype=bool)
    sea[-1, :] = True
    stream = np.zeros_like(sea)
    stream[:, 7] = True
    lc = grid_of(np.full(z.shape, 10, dtype=np.uint8), "land_cover", None)
    ds = t.static_features(grid_of(z), grid_of(sea, "sea"), stream=grid_of(stream, "s"),
                           land_cover=lc, permanent_water=grid_of(np.zeros_like(sea), "w"))
    expected = {"elevation": "m", "slope": "degree", "filled_elevation": "m",
                "bluespot_depth": "m", "bluespot_level": "m", "bluespot_volume": "m3",
                "bluespot_fill_rain": "mm", "flow_accumulation": "cells", "hand": "m",
                "twi": "1", "distance_to_coast": "m", "distance_to_stream": "m",
                "sea_flood_level": "m", "dike_crest_margin": "m"}
    for name, units in expected.items():
        assert ds[name].attrs["units"] == units, name
    for name in ("bluespot_id", "bluespot_catchment", "sea_connected", "dike_protected",
                 "land_cover", "permanent_water"):
        assert name in ds
    assert ds.rio.crs.to_epsg() == 25832 and ds["hand"].rio.crs.to_epsg() == 25832
    assert (ds["hand"].values[stream | sea] == 0).all()
    assert (ds["distance_to_stream"].values[:, 7] == 0).all()
    assert not ds["dike_protected"].values.any()


# --- errors -------------------------------------------------------------------------


def test_clear_errors_on_bad_input():
    z = bowl(5)
    no_crs = xr.DataArray(z, dims=("y", "x"), coords={"y": [40.0, 30, 20, 10, 0],
                                                       "x": [0.0, 10, 20, 30, 40]})
    with pytest.raises(ValueError, match="elevation: no CRS"):
        t.fill_depressions(no_crs)
    with pytest.raises(ValueError, match=r"geographic.*reproject"):
        t.slope(no_crs.rio.write_crs("EPSG:4326"))
    with pytest.raises(ValueError, match="all cells are nodata"):
        t.fill_depressions(grid_of(np.full((4, 4), np.nan)))
    rect = no_crs.assign_coords(y=[80.0, 60, 40, 20, 0]).rio.write_crs("EPSG:25832")
    with pytest.raises(ValueError, match="not square"):
        t.static_features(rect, rect > 1)
    other = AreaGrid("EPSG:25832", CELL, 0.0, 0.0, 5, 5).data_array(z > 2, "sea")
    with pytest.raises(ValueError, match="sea: x coordinates differ"):
        t.sea_flood_level(grid_of(z), other)
    with pytest.raises(ValueError, match="drainage: shape"):
        t.hand(grid_of(z), grid_of(np.zeros((4, 5), bool), "d"))


# --- properties on random DEMs ------------------------------------------------------


def random_dem(seed: int, ny: int, nx: int, step: float, nan_frac: float) -> np.ndarray:
    """Rough terrain rounded to ``step`` (flats and ties), with NaN holes."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(ny, nx)).cumsum(axis=0) + rng.normal(size=(ny, nx)).cumsum(axis=1)
    z = (np.round(z / step) * step).astype(np.float32)
    z[rng.random((ny, nx)) < nan_frac] = np.nan
    if np.isnan(z).all():
        z[0, 0] = 1.0
    return z


dems = st.builds(random_dem, st.integers(0, 2**32 - 1), st.integers(2, 30),
                 st.integers(2, 30), st.sampled_from([0.01, 0.5, 2.0]),
                 st.sampled_from([0.0, 0.0, 0.1, 0.4]))


@settings(max_examples=150, deadline=None)
@given(dems)
def test_routing_properties(z):
    elev = grid_of(z)
    valid = ~np.isnan(z)
    routing = t.routing_of(elev, None)
    filled = routing.filled.reshape(z.shape)
    assert (filled[valid] >= z[valid]).all() and np.isnan(filled[~valid]).all()
    # the same fill as pyflwdir's priority-flood (outlets at the edge of valid data);
    # pyflwdir adds the fill depth back (rounding), we copy the spill level exactly
    ref, _ = pyflwdir.dem.fill_depressions(np.where(valid, z, -9999.0).astype(np.float32),
                                           nodata=-9999.0)
    np.testing.assert_allclose(filled[valid], ref[valid], rtol=0, atol=1e-5)
    # every valid cell drains to an outlet; paths never climb on the filled surface
    assert routing.seq.size == valid.sum()
    ds_idx = routing.idxs_ds[routing.seq]
    position = np.empty(z.size, dtype=np.int64)
    position[routing.seq] = np.arange(routing.seq.size)
    assert (position[ds_idx] <= position[routing.seq]).all()  # downstream comes first
    ds_idx = routing.idxs_ds[routing.seq]
    assert (routing.filled[ds_idx] <= routing.filled[routing.seq]).all()
    acc = routing.accumulation().values
    pits = routing.pits
    assert acc.ravel()[pits].sum() == valid.sum() and (acc[valid] >= 1).all()
    blue = t.bluespot_dataset(routing, 0.05, 4)
    assert (blue["bluespot_depth"].values >= 0).all()
    ids = blue["bluespot_id"].values
    np.testing.assert_array_equal(blue["bluespot_level"].values[ids > 0], filled[ids > 0])
    drainage = np.zeros_like(valid)
    drainage[:: 3, :] = valid[:: 3, :]
    hand = routing.hand(drainage).values
    assert (hand[valid] >= 0).all() and (hand[drainage] == 0).all()


@settings(max_examples=60, deadline=None)
@given(dems, st.integers(0, 2**32 - 1))
def test_sea_flood_level_properties(z, seed):
    rng = np.random.default_rng(seed)
    sea = (rng.random(z.shape) < 0.1) & ~np.isnan(z)
    level = t.sea_flood_level(grid_of(z), grid_of(sea, "sea")).values
    reached = np.isfinite(level)
    assert (level[reached] >= z[reached]).all()
    np.testing.assert_array_equal(level[sea], z[sea])
    if not sea.any():
        assert not reached.any()


@settings(max_examples=80, deadline=None)
@given(dems, st.integers(0, 2**32 - 1))
def test_dike_removal_update_equals_a_full_flood(z, seed):
    from wetindex.features import _kernels

    rng = np.random.default_rng(seed)
    valid = ~np.isnan(z)
    sea = (rng.random(z.shape) < 0.05) & valid
    dike = (rng.random(z.shape) < 0.2) & ~sea & valid
    crest = np.where(dike, z + rng.random(z.shape).astype(np.float32) * 3, np.nan)
    with_dike = np.where(dike, np.fmax(z, crest), z).astype(np.float32)
    level_with = t._sea_level_values(with_dike, sea)
    lowered = _kernels.lower_barrier(z.ravel(), z.shape[1], dike.ravel())
    keep = ~dike.ravel()
    np.testing.assert_array_equal(lowered[keep], z.ravel()[keep])  # only dikes change
    updated = _kernels.lower_levels(level_with.ravel(), lowered, z.shape[1], dike.ravel())
    full = t._sea_level_values(lowered.reshape(z.shape), sea).ravel()
    np.testing.assert_array_equal(updated, full)


@settings(max_examples=25, deadline=None)
@given(dems, st.sampled_from([(2, 3), (7, 5), (16, 16), (30, 1)]))
def test_slope_is_lazy_and_identical_on_dask(z, chunks):
    elev = grid_of(z)
    expected = t.slope(elev).values
    lazy = elev.chunk({"y": chunks[0], "x": chunks[1]})
    with dask.config.set(scheduler=raise_on_compute):
        out = t.slope(lazy)
        acc = grid_of(np.ones(z.shape, np.float32), "flow_accumulation", "cells").chunk(4)
        w = t.twi(acc, out)
        d = t.distance_to(lazy > 0, "distance_to_coast")
    assert isinstance(out.data, dsa.Array) and isinstance(w.data, dsa.Array)
    assert isinstance(d.data, dsa.Array)
    np.testing.assert_array_equal(out.values, expected)
    np.testing.assert_array_equal(w.values, t.twi(acc.compute(), t.slope(elev)).values)
    np.testing.assert_array_equal(d.values, t.distance_to(elev > 0, "distance_to_coast").values)


def test_slope_on_one_cell_chunks_matches_numpy():
    z = random_dem(5, 6, 7, 0.5, 0.2)
    lazy = t.slope(grid_of(z).chunk(1))
    np.testing.assert_array_equal(lazy.values, t.slope(grid_of(z)).values)


def test_raise_on_compute_guard_works():
    with dask.config.set(scheduler=raise_on_compute), pytest.raises(AssertionError):
        dsa.ones(3).sum().compute()


def test_global_steps_compute_dask_input_eagerly_with_same_result():
    z = random_dem(3, 40, 50, 0.5, 0.05)
    numpy_filled = t.fill_depressions(grid_of(z)).values
    out = t.fill_depressions(grid_of(z).chunk(16))
    assert isinstance(out.data, np.ndarray)
    np.testing.assert_array_equal(out.values, numpy_filled)
    sea = np.zeros(z.shape, dtype=bool)
    sea[-2:, :] = True
    eager = t.static_features(grid_of(z), grid_of(sea, "sea"))
    lazy_in = t.static_features(grid_of(z).chunk(16), grid_of(sea, "sea").chunk(16))
    for name in eager.data_vars:
        np.testing.assert_array_equal(np.asarray(lazy_in[name].values),
                                      np.asarray(eager[name].values), err_msg=name)


# --- a real DEM ---------------------------------------------------------------------


def _real_fixtures() -> Path | None:
    for base in (Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "real",
                 Path("/work/shared/fixtures/real")):
        if (base / "hydrosheds_dem_wgs84.tif").exists():
            return base
    return None


@pytest.mark.skipif(_real_fixtures() is None,
                    reason="real fixture hydrosheds_dem_wgs84.tif not found in ../shared")
def test_real_dem_reprojected_static_features():
    import rioxarray

    raw = rioxarray.open_rasterio(_real_fixtures() / "hydrosheds_dem_wgs84.tif").squeeze(
        "band", drop=True)
    assert raw.dtype == np.int16
    with pytest.raises(ValueError, match="geographic"):
        t.fill_depressions(raw)
    utm = raw.rio.estimate_utm_crs()
    dem = raw.rio.reproject(utm, resolution=90.0)
    dem = dem.where(dem != dem.rio.nodata).astype(np.float32).rio.write_crs(utm)
    valid = np.isfinite(dem.values)
    # the sea: a strip of the lowest cells stands in (the area is inland)
    sea = dem.copy(data=valid & (dem.values <= np.nanpercentile(dem.values, 1)))
    ds = t.static_features(dem, sea)
    assert ds.rio.crs == utm
    assert (ds["filled_elevation"].values[valid] >= dem.values[valid]).all()
    assert np.isnan(ds["filled_elevation"].values[~valid]).all()
    assert (ds["hand"].values[valid] >= 0).all() and (ds["slope"].values[valid] >= 0).all()
    flw = t.flow_directions(dem, ds["elevation"].copy(data=sea.values | t.default_outlets(valid)))
    acc = ds["flow_accumulation"].values.ravel()
    assert flw.idxs_seq.size == valid.sum()
    assert acc[flw.idxs_pit].sum() == valid.sum()
    assert np.isfinite(ds["twi"].values[valid]).all()
    # real terrain has real depressions
    assert ds["bluespot_id"].values.max() > 0
