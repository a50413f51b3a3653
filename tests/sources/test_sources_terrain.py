"""Terrain: the DHM WCS (tiled, token) and Copernicus DEM tiles, over a mock transport."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from sources_helpers import plane, wcs

from wetindex.grid import AreaGrid
from wetindex.sources import copernicus_dem, dhm_terrain
from wetindex.sources.errors import CredentialMissingError, SourceError

GRID = AreaGrid("EPSG:25832", 10.0, 500_000.0, 6_301_000.0, nx=25, ny=12)


def test_dhm_tiles_cover_the_grid_once():
    blocks = dhm_terrain.tiles(GRID, max_px=10)
    assert len(blocks) == 3 * 2
    covered = np.zeros(GRID.shape, int)
    for rows, cols in blocks:
        covered[rows, cols] += 1
    assert (covered == 1).all()


def test_dhm_terrain_is_tiled_mosaicked_and_cached(make_session, monkeypatch, tmp_path):
    monkeypatch.setenv("DATAFORSYNINGEN_TOKEN", "tok-123")
    session, rec, _ = make_session("dhm_terrain", wcs())
    elevation = dhm_terrain.fetch_terrain(session, GRID, max_px=10)
    assert len(rec.requests) == 6
    assert all(r.url.params["token"] == "tok-123" for r in rec.requests)
    gx, gy = np.meshgrid(GRID.x, GRID.y)
    np.testing.assert_allclose(elevation.values, plane(gx, gy), atol=1e-4)
    assert elevation.attrs["datum"] == "DVR90" and elevation.rio.crs.to_epsg() == 25832
    dhm_terrain.fetch_terrain(session, GRID, max_px=10)
    assert len(rec.requests) == 6                       # second time all from the cache
    for record in session.cache.records():
        assert "token" not in record.params and "tok-123" not in record.url


def test_dhm_without_token_names_the_variable(make_session, monkeypatch):
    monkeypatch.delenv("DATAFORSYNINGEN_TOKEN", raising=False)
    session, rec, _ = make_session("dhm_terrain", wcs())
    with pytest.raises(CredentialMissingError, match="DATAFORSYNINGEN_TOKEN"):
        dhm_terrain.fetch_terrain(session, GRID)
    assert rec.requests == []


def test_dhm_raster_in_the_wrong_crs_is_refused(make_session, monkeypatch):
    monkeypatch.setenv("DATAFORSYNINGEN_TOKEN", "t")
    session, _, _ = make_session("dhm_terrain", wcs(crs="EPSG:3857"))
    with pytest.raises(SourceError, match="in EPSG:3857, expected EPSG:25832"):
        dhm_terrain.fetch_terrain(session, GRID)
    assert session.cache.records() == []                # a refused answer is not cached


def test_dhm_service_exception_is_shown(make_session, monkeypatch):
    monkeypatch.setenv("DATAFORSYNINGEN_TOKEN", "t")
    xml = b'<?xml version="1.0"?><ServiceExceptionReport><ServiceException>Coverage dhm_x ' \
          b'not found</ServiceException></ServiceExceptionReport>'
    session, _, _ = make_session("dhm_terrain", lambda r: httpx.Response(200, content=xml))
    with pytest.raises(SourceError, match=r"not a GeoTIFF but.*not found"):
        dhm_terrain.fetch_terrain(session, GRID)


def test_dhm_truncated_tiff_is_refused(make_session, monkeypatch):
    monkeypatch.setenv("DATAFORSYNINGEN_TOKEN", "t")
    full = wcs()

    def cut(request):
        return httpx.Response(200, content=full(request).content[:300])
    session, _, _ = make_session("dhm_terrain", cut)
    with pytest.raises(SourceError, match="cannot be read"):
        dhm_terrain.fetch_terrain(session, GRID)


def test_copernicus_tile_names():
    assert copernicus_dem.tile_name(57, 9) == "Copernicus_DSM_COG_10_N57_00_E009_00_DEM"
    assert copernicus_dem.tile_name(-1, -98) == "Copernicus_DSM_COG_10_S01_00_W098_00_DEM"
    names = [n for n, _, _ in copernicus_dem.tiles_for_bbox((9.03, 57.01, 9.92, 57.36))]
    assert names == ["Copernicus_DSM_COG_10_N57_00_E009_00_DEM"]


def test_copernicus_dem_real_latlon_tile_reprojected(make_session, real_dir):
    """The real HydroSHEDS DEM (EPSG:4326, int16, nodata) served as a tile, warped to UTM."""
    import rioxarray

    content = (real_dir / "hydrosheds_dem_wgs84.tif").read_bytes()
    session, rec, _ = make_session(
        "copernicus_dem", lambda r: httpx.Response(200, content=content)
        if "N32_00_W098" in r.url.path else httpx.Response(404))
    grid = AreaGrid("EPSG:32614", 90.0, 660_000.0, 3_630_000.0, nx=40, ny=30)
    elevation = copernicus_dem.fetch_dem(session, grid)
    assert elevation.attrs["surface_model"] == "DSM" and elevation.attrs["ocean_tiles"] == ""
    assert np.isfinite(elevation.values).all()
    # compare with the source at the cell centres (bilinear vs. 3" pixels: within a few m)
    source = rioxarray.open_rasterio(real_dir / "hydrosheds_dem_wgs84.tif", masked=True)[0]
    from pyproj import Transformer
    lon, lat = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True).transform(
        *np.meshgrid(grid.x, grid.y))
    import xarray as xr
    nearest = source.sel(x=xr.DataArray(lon.ravel()), y=xr.DataArray(lat.ravel()),
                         method="nearest").values.reshape(grid.shape)
    assert np.nanmedian(np.abs(elevation.values - nearest)) < 2.0
    assert any("N32_00_W098" in str(r.url) for r in rec.requests)


def test_copernicus_dem_ocean_tile_is_sea_level(make_session, real_dir):
    content = (real_dir / "hydrosheds_dem_wgs84.tif").read_bytes()
    # a grid reaching south of 32 N: tile N32 exists, tile N31 is absent ("ocean")
    session, _, _ = make_session(
        "copernicus_dem", lambda r: httpx.Response(200, content=content)
        if "N32_00_W098" in r.url.path else httpx.Response(404))
    grid = AreaGrid("EPSG:32614", 1000.0, 655_000.0, 3_620_000.0, nx=10, ny=90)
    elevation = copernicus_dem.fetch_dem(session, grid)
    assert elevation.attrs["ocean_tiles"] == "Copernicus_DSM_COG_10_N31_00_W098_00_DEM"
    assert (elevation.values[-1] == 0.0).all() and np.isfinite(elevation.values).all()
    assert (elevation.values[5, :5] > 100).all()     # land from the real tile up north
