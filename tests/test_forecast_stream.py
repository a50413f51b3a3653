"""The streamed forecast: blocks equal the whole area, valid COGs, readers round-trip."""

from __future__ import annotations

import dataclasses
import struct

import lightgbm as lgb
import netCDF4
import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr

from wetindex.features.stack import DRIVER_FEATURES, FEATURES, STATIC_FEATURES, feature_rows
from wetindex.forecast_io import (
    FRACTIONS,
    NODATA,
    SCALE,
    decode_fraction,
    encode_fraction,
    open_forecast,
    read_codes,
    write_forecast_grids,
)
from wetindex.forecast_stream import AreaFields, block_codes, stream_forecast
from wetindex.grid import AreaGrid
from wetindex.model.predict import ForecastInputs, levels, predict_probability
from wetindex.normal import excess_arrays, impact_weight

ISSUE = np.datetime64("2025-01-10T06:00", "ns")
THRESHOLDS = [0.05, 0.15, 0.3]
CHANCE = [0.3, 0.1, 0.2]


def synthetic_forecast(ny: int, nx: int, seed: int = 3, leads: int = 6):
    """A booster, candidate cells with their rows, and per-cell fields on an ny × nx grid."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2000, len(FEATURES))).astype("float32")
    y = (x[:, 0] + 0.7 * x[:, len(STATIC_FEATURES)] + rng.normal(scale=0.5, size=len(x))
         > 0.5).astype(int)
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 15},
                        lgb.Dataset(x, y, feature_name=list(FEATURES)), num_boost_round=15)
    grid = AreaGrid("EPSG:25832", 10.0, 540_000.0, 6_335_000.0, nx, ny)
    cells = np.flatnonzero(rng.random(ny * nx) < 0.5)
    n_static = len(STATIC_FEATURES)
    drivers = rng.normal(size=(leads, len(DRIVER_FEATURES))).astype("float32")
    drivers[:, DRIVER_FEATURES.index("lead_hours")] = np.arange(1, leads + 1)
    fin = ForecastInputs(ISSUE, cells, rng.normal(size=(len(cells), n_static)).astype("float32"),
                         drivers, rng.normal(size=len(cells)).astype("float32"))
    fields = AreaFields(
        normal=(rng.random((ny, nx)) * 0.2).astype("float32"),
        standing=rng.random((ny, nx)) < 0.05, exposure=rng.random((ny, nx)).astype("float32"),
        permanent_water=rng.random((ny, nx)) < 0.03, sea_prone=rng.random((ny, nx)) < 0.2,
        dike_crest=np.full((ny, nx), np.nan))
    return booster, fin, grid, fields


def whole_area_reference(booster, fin, grid, fields):
    """The in-memory path: the whole float cube, then excess, score and levels."""
    prob = predict_probability(booster, fin, grid).values
    excess, score = excess_arrays(prob, fields.normal, fields.standing, fields.exposure,
                                  fields.permanent_water, fields.sea_prone,
                                  thresholds=THRESHOLDS, chance=CHANCE)
    level = levels(xr.DataArray(score, dims=("lead", "y", "x")), THRESHOLDS).values
    return prob, excess, score, level


@pytest.fixture(scope="module")
def made():
    return synthetic_forecast(37, 53)


@pytest.mark.parametrize("chunk_cells", [53 * 4, 53 * 37])  # 4-row blocks, one block
def test_streamed_blocks_equal_the_whole_area(made, tmp_path, chunk_cells):
    """Equal to the in-memory forecast to the 8-bit step: every code is the rounding of the
    whole-area float value (exactly equal codes), levels exactly equal."""
    booster, fin, grid, fields = made
    prob, excess, score, level = whole_area_reference(booster, fin, grid, fields)
    ds = stream_forecast(booster, fin, grid, fields, forecasts_dir=tmp_path,
                         thresholds=THRESHOLDS, chance=CHANCE, chunk_cells=chunk_cells,
                         attrs={"area": "t"})
    assert np.ptp(prob) > 0.2 and level.max() == 3 and (level == 0).any()
    np.testing.assert_array_equal(read_codes(ds, "probability"), encode_fraction(prob))
    np.testing.assert_array_equal(read_codes(ds, "warning_score"), encode_fraction(score))
    assert "excess_probability" not in ds and "normal_water" not in ds  # not stored
    # the levels are the risk matrix of the excess and the cells' impact
    impact = impact_weight(fields.normal, fields.exposure)[None]
    matrix = np.zeros(level.shape, int)
    for lv in (1, 2, 3):
        matrix[(impact >= THRESHOLDS[lv - 1]) & (excess >= CHANCE[lv - 1])] = lv
    np.testing.assert_array_equal(level, matrix)
    np.testing.assert_array_equal(ds["level"].values, level)
    assert ds["level"].dtype == np.uint8
    # decoded: within half a step of the float values
    np.testing.assert_allclose(ds["probability"].values, prob, atol=SCALE / 2 + 1e-6, rtol=0)
    assert ds.attrs["area"] == "t" and ds.rio.crs.to_epsg() == 25832
    assert pd.Timestamp(ds["valid_time"].values[0]) == pd.Timestamp(ISSUE) + pd.Timedelta("1h")


def test_blocks_from_unsorted_cells(made, tmp_path):
    """Candidate cells in any order, and blocks of another size, give the same codes."""
    booster, fin, grid, fields = made
    flip = np.arange(len(fin.cells))[::-1]
    shuffled = ForecastInputs(fin.issue_time, fin.cells[flip], fin.static_rows[flip],
                              fin.drivers, fin.groundwater_depth[flip])
    a = stream_forecast(booster, shuffled, grid, fields, forecasts_dir=tmp_path / "a",
                        thresholds=THRESHOLDS, chance=CHANCE, chunk_cells=53 * 5)
    b = stream_forecast(booster, fin, grid, fields, forecasts_dir=tmp_path / "b",
                        thresholds=THRESHOLDS, chance=CHANCE, chunk_cells=53 * 7)
    for name in ("probability", "warning_score", "level"):
        np.testing.assert_array_equal(read_codes(a, name), read_codes(b, name))


def test_gridded_drivers_stream_block_by_block_equal_to_the_whole_cube(made, tmp_path):
    """Rain zones (a coarse grid of drivers) streamed in 3-row blocks give the codes of the
    whole-area prediction with each cell's zone drivers (``booster.predict`` on full rows),
    and differ from the area-uniform forecast (the zones are used, not the area series)."""
    booster, fin, grid, fields = made
    rng = np.random.default_rng(7)
    n_zones = 6
    zdrivers = np.repeat(fin.drivers[None], n_zones, axis=0).copy()
    rain = [i for i, f in enumerate(DRIVER_FEATURES) if f != "lead_hours"]
    zdrivers[:, :, rain] += rng.normal(scale=1.5, size=(n_zones, 1, len(rain)))
    # zones of 16 × 16 cells (a 2.5-km rain grid over 10-m cells, scaled down)
    ys, xs = np.divmod(np.arange(grid.ny * grid.nx), grid.nx)
    zone_of_grid = ((ys // 16) * 4 + xs // 16) % n_zones
    zone = zone_of_grid[fin.cells].astype("int32")
    whole = np.zeros((fin.drivers.shape[0], grid.ny * grid.nx), "float32")
    for li in range(fin.drivers.shape[0]):
        rows = feature_rows(fin.static_rows, zdrivers[zone, li], fin.groundwater_depth)
        whole[li, fin.cells] = booster.predict(rows)
    whole = whole.reshape(-1, grid.ny, grid.nx)
    streamed = stream_forecast(booster, fin, grid, fields, forecasts_dir=tmp_path / "z",
                               thresholds=THRESHOLDS, chance=CHANCE, chunk_cells=53 * 3,
                               zones=(zdrivers, zone))
    codes = read_codes(streamed, "probability")
    np.testing.assert_array_equal(codes, encode_fraction(whole))
    uniform = stream_forecast(booster, fin, grid, fields, forecasts_dir=tmp_path / "u",
                              thresholds=THRESHOLDS, chance=CHANCE, chunk_cells=53 * 3)
    assert (codes != read_codes(uniform, "probability")).mean() > 0.1
    with pytest.raises(ValueError, match="zones"):
        stream_forecast(booster, fin, grid, fields, forecasts_dir=tmp_path / "e",
                        thresholds=THRESHOLDS, chance=CHANCE, zones=(zdrivers, zone[:-1]))


def test_unknown_is_never_no_risk():
    """NaN (no forecast) is code 255 and decodes back to NaN, not to 0."""
    p = np.array([[np.nan, 0.0, 0.0024, 0.0026, 0.5, 1.0, 1.7]], "float32")
    codes = encode_fraction(p)
    assert codes.tolist() == [[NODATA, 0, 0, 1, 100, 200, 200]]
    back = decode_fraction(codes)
    assert np.isnan(back[0, 0]) and back[0, 4] == pytest.approx(0.5)
    fields = AreaFields(np.zeros(2, "float32"), None, np.ones(2, "float32"),
                        np.zeros(2, bool), None, np.full(2, np.nan))
    out = block_codes(np.array([[np.nan, 0.9]], "float32"), fields, np.array([1]),
                      THRESHOLDS, None)
    assert out["probability"][0, 0] == NODATA and out["warning_score"][0, 0] == NODATA


def streamed_into_folder(made, tmp_path):
    """A forecast streamed in blocks of 4 rows, its files moved into a forecast folder."""
    booster, fin, grid, fields = made
    ds = stream_forecast(booster, fin, grid, fields, forecasts_dir=tmp_path,
                         thresholds=THRESHOLDS, chance=CHANCE, chunk_cells=53 * 4)
    folder = tmp_path / "out"
    folder.mkdir()
    write_forecast_grids(folder, ds)  # a streamed forecast's files are moved in
    return ds, folder


def test_cogs_are_cloud_optimised_with_one_band_per_lead(made, tmp_path):
    grid = made[2]
    ds, folder = streamed_into_folder(made, tmp_path)
    assert sorted(p.name for p in (folder / "geotiff").iterdir()) == [
        "probability.tif", "warning_score.tif"]
    assert not any(".stream" in p.name for p in tmp_path.iterdir())
    codes = read_codes(ds, "probability")
    assert ifds_before_tiles(folder / "geotiff" / "probability.tif")
    with rasterio.open(folder / "geotiff" / "probability.tif") as src:
        assert src.count == 6 and src.dtypes[0] == "uint8" and src.nodata == NODATA
        assert src.crs.to_epsg() == 25832 and src.transform == grid.transform
        assert [src.tags(b)["NETCDF_DIM_lead"] for b in (1, 6)] == ["1", "6"]
        assert float(src.tags(1)["scale_factor"]) == pytest.approx(SCALE)
        np.testing.assert_array_equal(src.read(), codes)


def ifds_before_tiles(path) -> bool:
    """Every IFD of the (classic) TIFF lies before its first tile: the layout that lets a
    reader find every tile with one range request at the head of the file."""
    raw = path.read_bytes()
    assert raw[:4] == b"II*\0"
    at, ifd_ends, first_tile = struct.unpack_from("<I", raw, 4)[0], [], len(raw)
    while at:
        n = struct.unpack_from("<H", raw, at)[0]
        for k in range(n):
            tag, _, count, value = struct.unpack_from("<HHII", raw, at + 2 + 12 * k)
            if tag == 324:  # TileOffsets (LONG)
                offsets = np.frombuffer(raw, "<u4", count, value if count > 1 else at + 10 + 12 * k)
                first_tile = min(first_tile, int(offsets.min()))
        ifd_ends.append(at + 2 + 12 * n + 4)
        at = struct.unpack_from("<I", raw, at + 2 + 12 * n)[0]
    return len(ifd_ends) >= 1 and max(ifd_ends) <= first_tile


def test_cog_overviews_and_tiles_on_a_larger_grid(tmp_path):
    """A grid over 256 cells wide: 256 × 256 tiles and internal overviews (the mean of the
    known codes of each 2 × 2), every IFD at the head of the file."""
    grid = AreaGrid("EPSG:25832", 10.0, 540_000.0, 6_335_000.0, 1100, 700)
    rng = np.random.default_rng(1)
    p = rng.random((2, grid.ny, grid.nx)).astype("float32")
    prob = xr.DataArray(p, dims=("lead", "y", "x"),
                        coords={"lead": [1, 2], **grid.coords(), "issue_time": ISSUE})
    prob = prob.rio.write_crs(grid.crs).rio.write_transform(grid.transform)
    ds = xr.Dataset({"probability": prob, "level": levels(prob, THRESHOLDS)})
    write_forecast_grids(tmp_path, ds, chunk_cells=100_000)
    path = tmp_path / "geotiff" / "probability.tif"
    assert ifds_before_tiles(path)
    with rasterio.open(path) as src:
        assert src.block_shapes[0] == (256, 256) and src.overviews(1) == [2, 4, 8]
        assert src.tags(ns="IMAGE_STRUCTURE")["COMPRESSION"] == "DEFLATE"
        full = src.read(1)
    with rasterio.open(path, overview_level=0) as half:
        c = full[:2, :2].astype(float)
        assert half.read(1)[0, 0] == int(np.floor(c.mean() + 0.5))
        assert half.shape == (350, 550)
    back = open_forecast(tmp_path, grid)
    np.testing.assert_allclose(back["probability"].values, p, atol=SCALE / 2 + 1e-6)
    # fractions that were not given are unknown (NaN), never 0
    assert np.isnan(back["warning_score"].values).all()
    np.testing.assert_array_equal(back["level"].values, ds["level"].values)


def test_written_forecast_is_a_lazy_cube_a_reader_takes_in_parts(made, tmp_path):
    grid = made[2]
    ds, folder = streamed_into_folder(made, tmp_path)
    back = open_forecast(folder, grid)
    assert not back["probability"].variable._in_memory
    one = back.isel(lead=2, y=slice(3, 9))["probability"].values
    np.testing.assert_array_equal(one, ds["probability"].values[2, 3:9])
    with netCDF4.Dataset(folder / "forecast.nc") as nc:  # 1 byte per cell-hour on disk
        assert nc["level"].dtype.str == "|u1"
        assert not set(FRACTIONS) & set(nc.variables)  # each quantity is written once
    for name in FRACTIONS:
        with rasterio.open(folder / "geotiff" / f"{name}.tif") as src:
            assert src.dtypes[0] == "uint8" and src.scales[0] == pytest.approx(SCALE)


def test_warnings_from_codes_equal_warnings_on_the_decoded_cube(made, tmp_path):
    """Place by place on windows of codes = the whole decoded cube at once, including
    overlapping places (the later takes the shared cells) and a place over the edge."""
    from shapely.geometry import box

    from wetindex.forecast_stream import warnings_from_codes
    from wetindex.risk import warning_areas
    from wetindex.sources.base import Place

    booster, fin, grid, fields = made
    ds = stream_forecast(booster, fin, grid, fields, forecasts_dir=tmp_path,
                         thresholds=THRESHOLDS, chance=CHANCE, chunk_cells=53 * 4)
    x0, y1 = grid.x_min, grid.y_max
    places = [Place("Nord", "settlement", box(x0 + 20, y1 - 150, x0 + 300, y1 - 10)),
              Place("Midt", "settlement", box(x0 + 200, y1 - 250, x0 + 420, y1 - 100)),
              Place("Kyst", "summer_houses", box(x0 + 400, y1 - 420, x0 + 700, y1 - 200)),
              Place("Ude", "settlement", box(x0 - 900, y1 + 100, x0 - 500, y1 + 500))]
    depth = np.full(grid.ny * grid.nx, np.nan, "float32")
    depth[fin.cells] = fin.groundwater_depth
    seen: list = []

    def explain(lead, cells):
        seen.append(np.sort(np.asarray(cells)))
        return {"terrain": 0.5, "rain": 0.5}

    kw = {"area_name": "T", "area_id": "t", "min_area_m2": 300.0,
          "dike_crest": fields.dike_crest, "groundwater_depth": depth}
    got = warnings_from_codes(ds, places, grid, explain=explain, **kw)
    got_cells = list(seen)
    seen.clear()
    decoded = xr.Dataset({"level": ds["level"].load(), "warning_score": ds["warning_score"].load(),
                          "valid_time": ds["valid_time"]})
    want = warning_areas(decoded, places, grid, explain=explain, **kw)
    assert len(want) >= 2
    assert [w.to_dict() for w in got] == [w.to_dict() for w in want]
    assert sorted(map(tuple, got_cells)) == sorted(map(tuple, seen))


def test_read_cells_equals_indexing_the_whole_cube(made, tmp_path):
    from wetindex.forecast_io import read_cells

    booster, fin, grid, fields = made
    ds = stream_forecast(booster, fin, grid, fields, forecasts_dir=tmp_path,
                         thresholds=THRESHOLDS, chance=CHANCE, chunk_cells=53 * 4)
    assert ds["probability"].chunks is not None  # lazy, in the file's chunks
    cells = np.array([5 * 53 + 7, 9 * 53 + 2, 30 * 53 + 40, 9 * 53 + 3])
    whole = ds["probability"].values.reshape(6, -1)
    np.testing.assert_array_equal(read_cells(ds, "probability", cells), whole[:, cells])
    np.testing.assert_array_equal(read_cells(ds, "level", cells),
                                  ds["level"].values.reshape(6, -1)[:, cells])
    assert read_cells(ds, "probability", cells[:0]).shape == (6, 0)
    # reductions run chunk by chunk and equal numpy's on the loaded cube
    np.testing.assert_array_equal(ds["probability"].max(("y", "x")).values,
                                  np.nanmax(whole, axis=1))


def test_static_rows_made_per_block_equal_the_whole_table(made, tmp_path):
    """CandidateRows gives static_table's rows for any slice or positions, from the window
    of grid rows that holds them; the streamed forecast is the same with either."""
    from wetindex.candidate_rows import CandidateRows
    from wetindex.features.stack import static_table

    booster, fin, grid, fields = made
    rng = np.random.default_rng(11)
    static = xr.Dataset({name: (("y", "x"), rng.random(grid.shape).astype("float32"))
                         for name in STATIC_FEATURES})
    whole = static_table(static, fin.cells)
    lazy = CandidateRows(static, fin.cells)
    assert lazy.shape == whole.shape and len(lazy) == len(whole)
    for sel in (slice(None), slice(40, 90), np.array([5, 3, 700]), slice(0, 0)):
        np.testing.assert_array_equal(lazy[sel], whole[sel])
    a = stream_forecast(booster, dataclasses.replace(fin, static_rows=whole), grid, fields,
                        forecasts_dir=tmp_path / "a", thresholds=THRESHOLDS, chance=CHANCE,
                        chunk_cells=53 * 5)
    b = stream_forecast(booster, dataclasses.replace(fin, static_rows=lazy), grid, fields,
                        forecasts_dir=tmp_path / "b", thresholds=THRESHOLDS, chance=CHANCE,
                        chunk_cells=53 * 5)
    np.testing.assert_array_equal(read_codes(a, "probability"), read_codes(b, "probability"))
    with pytest.raises(KeyError, match="static features missing"):
        CandidateRows(static.drop_vars(STATIC_FEATURES[0]), fin.cells)
