"""Harmonisation onto the area grid, on small grids with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from pyproj import Transformer

from wetindex.grid import AreaGrid
from wetindex.sources.harmonise import grid_bbox_lonlat, points_to_grid, reproject_to_grid

GRID = AreaGrid("EPSG:25832", 100.0, 500_000.0, 6_300_300.0, nx=3, ny=3)


def stations(xy: list[tuple[float, float]], values: list[list[float]]) -> xr.DataArray:
    lon, lat = Transformer.from_crs("EPSG:25832", "EPSG:4326", always_xy=True).transform(
        *np.array(xy).T)
    return xr.DataArray(np.array(values, float), dims=("time", "station"),
                        coords={"time": np.arange(len(values)), "station": ["a", "b"][:len(xy)],
                                "lon": ("station", lon), "lat": ("station", lat)},
                        name="rain", attrs={"units": "mm/h"})


def test_idw_known_answers():
    # a on the centre of the top-left cell, b on the bottom-right cell
    s = stations([(500_050, 6_300_250), (500_250, 6_300_050)], [[2.0, 4.0], [np.nan, 4.0]])
    grid = points_to_grid(s, GRID, method="idw")
    assert grid.dims == ("time", "y", "x") and grid.attrs["units"] == "mm/h"
    assert grid.isel(time=0, y=0, x=0).item() == pytest.approx(2.0, abs=1e-6)   # on a station
    assert grid.isel(time=0, y=2, x=2).item() == pytest.approx(4.0, abs=1e-6)
    assert grid.isel(time=0, y=1, x=1).item() == pytest.approx(3.0, abs=1e-6)   # equidistant
    # top-right cell: distances 200 (a) and 200 (b) → mean too
    assert grid.isel(time=0, y=0, x=2).item() == pytest.approx(3.0, abs=1e-6)
    # cell (0,1): da = 100, db = sqrt(100²+200²); w ∝ 1/d²
    wa, wb = 1 / 100**2, 1 / (100**2 + 200**2)
    assert grid.isel(time=0, y=0, x=1).item() == pytest.approx((2 * wa + 4 * wb) / (wa + wb),
                                                               rel=1e-6)
    # a missing at time 1: only b counts, nowhere zero
    np.testing.assert_allclose(grid.isel(time=1).values, 4.0)


def test_nearest_and_max_distance():
    s = stations([(500_050, 6_300_250), (500_250, 6_300_050)], [[2.0, 4.0], [np.nan, np.nan]])
    grid = points_to_grid(s, GRID, method="nearest")
    assert grid.isel(time=0, y=0, x=0).item() == 2.0 and grid.isel(time=0, y=2, x=2).item() == 4
    assert np.isnan(grid.isel(time=1)).all()                      # no station: NaN, not 0
    near = points_to_grid(s, GRID, method="idw", max_distance_m=120)
    assert np.isnan(near.isel(time=0, y=0, x=2).item())           # 200 m from both


def coarse_grid_array(values: np.ndarray, cell: float, crs: str = "EPSG:25832") -> xr.DataArray:
    g = AreaGrid(crs, cell, 500_000.0, 6_300_400.0, values.shape[1], values.shape[0])
    return g.data_array(values.astype(np.float32), "v")


def test_coarse_to_fine_conservative_and_back():
    coarse = coarse_grid_array(np.array([[1.0, 2.0], [3.0, 4.0]]), 200.0)
    fine = AreaGrid("EPSG:25832", 100.0, 500_000.0, 6_300_400.0, nx=4, ny=4)
    up = reproject_to_grid(coarse, fine, "nearest")
    np.testing.assert_allclose(up.values, np.kron([[1, 2], [3, 4]], np.ones((2, 2))))
    assert float(up.mean()) == pytest.approx(2.5)                 # area mean kept
    back = reproject_to_grid(up, AreaGrid.from_dataarray(coarse), "average")
    np.testing.assert_allclose(back.values, coarse.values)


def test_bilinear_keeps_a_linear_field():
    fine = AreaGrid("EPSG:25832", 50.0, 500_100.0, 6_300_300.0, nx=4, ny=4)
    x, y = np.meshgrid(500_000 + (np.arange(6) + 0.5) * 100, 6_300_400 - (np.arange(6) + 0.5) * 100)
    g = AreaGrid("EPSG:25832", 100.0, 500_000.0, 6_300_400.0, 6, 6)
    field = g.data_array((0.01 * (x - 500_000) + 0.02 * (y - 6_300_000)).astype(np.float32), "v")
    out = reproject_to_grid(field, fine, "bilinear")
    fx, fy = np.meshgrid(fine.x, fine.y)
    np.testing.assert_allclose(out.values, 0.01 * (fx - 500_000) + 0.02 * (fy - 6_300_000),
                               atol=1e-3)


def test_reprojection_of_the_real_latlon_dem(real_dir):
    import rioxarray

    dem = rioxarray.open_rasterio(real_dir / "hydrosheds_dem_wgs84.tif", masked=True)[0]
    grid = AreaGrid("EPSG:32614", 100.0, 660_000.0, 3_625_000.0, nx=50, ny=40)
    out = reproject_to_grid(dem, grid, "bilinear")
    assert out.rio.crs.to_epsg() == 32614 and out.shape == grid.shape
    assert np.isfinite(out.values).all()
    lo, hi = float(dem.min()), float(dem.max())
    assert lo - 1 <= float(out.min()) and float(out.max()) <= hi + 1
    west, south, east, north = grid_bbox_lonlat(grid)
    assert -97.49 < west < east < -97.17 and 32.52 < south < north < 32.83


def test_raster_without_crs_is_refused():
    da = xr.DataArray(np.zeros((2, 2)), dims=("y", "x"), coords={"y": [1, 0], "x": [0, 1]},
                      name="hip")
    with pytest.raises(ValueError, match="no CRS"):
        reproject_to_grid(da, GRID)


def test_forecast_points_to_grid_end_to_end():
    """HARMONIE points from the recorded EDR answer, de-accumulated and spread by IDW."""
    from sources_helpers import recorded_json

    from wetindex.sources import dmi_forecast_edr

    doc = recorded_json("dmi_edr_harmonie_cube.json")
    ds = dmi_forecast_edr.edr_dataset(doc, ["total-precipitation"], source="s", request="r")
    rain = dmi_forecast_edr.deaccumulate(ds["precipitation_accumulated"], source="s",
                                         request="r")
    grid = AreaGrid("EPSG:25832", 500.0, 515_000.0, 6_330_000.0, nx=8, ny=6)
    on_grid = points_to_grid(rain, grid, dim="point")
    assert on_grid.dims == ("time", "y", "x") and on_grid.attrs["units"] == "mm/h"
    lo, hi = rain.min("point"), rain.max("point")
    assert ((on_grid >= lo - 1e-9) & (on_grid <= hi + 1e-9)).all()
    assert np.isfinite(on_grid.values).all()
