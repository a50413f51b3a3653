"""Municipality boundaries (real DAGI file, recorded WFS answer) and HIP NetCDF reading."""

from __future__ import annotations

import httpx
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from sources_helpers import json_response, recorded_json

from wetindex.sources import dagi, hip_groundwater
from wetindex.sources.errors import CredentialMissingError, SourceError


def test_boundary_from_the_real_dagi_file(real_dir):
    jammerbugt = dagi.boundary_from_file(real_dir / "dagi_kommuner_2014_generalised.geojson",
                                         code="849")
    assert list(jammerbugt["code"]) == ["0849"] and jammerbugt.crs.to_epsg() == 25832
    assert "Jammerbugt" in jammerbugt["name"].iloc[0]
    west, south, east, north = jammerbugt.to_crs("EPSG:4326").total_bounds
    assert (west, south, east, north) == pytest.approx((9.03, 57.01, 9.92, 57.36), abs=0.05)
    with pytest.raises(SourceError, match="no municipality with code '9999'"):
        dagi.boundary_from_file(real_dir / "dagi_kommuner_2014_generalised.geojson",
                                code="9999")
    grid = dagi.grid_for_boundary(jammerbugt, cell_size=10.0)
    x0, y0, x1, y1 = jammerbugt.total_bounds
    assert grid.x_min <= x0 < grid.x_min + 10 and grid.y_max - 10 < y1 <= grid.y_max
    assert grid.x_max >= x1 and grid.y_min <= y0 and grid.x_min % 10 == 0
    with pytest.raises(SourceError, match="311 municipalities"):
        dagi.boundary_from_file(real_dir / "dagi_kommuner_2014_generalised.geojson")


def test_boundary_from_a_geopackage(tmp_path, real_dir):
    import geopandas as gpd

    frame = gpd.read_file(real_dir / "dagi_kommuner_2014_generalised.geojson")
    frame[frame["KOMKODE"] == "0810"].to_file(tmp_path / "b.gpkg")
    one = dagi.boundary_from_file(tmp_path / "b.gpkg")
    assert list(one["code"]) == ["0810"] and one.geometry.iloc[0].area > 1e8


def test_dagi_wfs(make_session, monkeypatch, tmp_path):
    monkeypatch.setenv("DATAFORDELER_API_KEY", "k-1")
    doc = recorded_json("dagi_wfs_0849.json")
    session, rec, _ = make_session("dagi", lambda r: json_response(doc))
    boundary = dagi.fetch_boundary(session, "0849")
    params = rec.requests[0].url.params
    assert params["request"] == "GetFeature" and params["typeNames"] == "Kommuneinddeling"
    assert "<fes:Literal>0849</fes:Literal>" in params["filter"]
    assert params["apiKey"] == "k-1" and "k-1" not in str(session.cache.records())
    assert boundary.geometry.iloc[0].area == pytest.approx(40_000 * 35_000)
    assert boundary.attrs["source"] == "dagi"
    empty = {"type": "FeatureCollection", "features": []}
    session, _, _ = make_session("dagi", lambda r: json_response(empty),
                                 cache_dir=tmp_path / "other")
    with pytest.raises(SourceError, match="empty answer: no municipality 0849"):
        dagi.fetch_boundary(session, "849")
    monkeypatch.delenv("DATAFORDELER_API_KEY")
    with pytest.raises(CredentialMissingError, match="DATAFORDELER_API_KEY"):
        dagi.fetch_boundary(session, "0849")


DAGI_GML = b"""<?xml version="1.0" encoding="UTF-8"?>
<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs/2.0"
  xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:dagi="http://data.gov.dk/schemas/dagi"
  numberMatched="1" numberReturned="1">
 <wfs:member><dagi:Kommuneinddeling gml:id="Kommuneinddeling.389149">
  <dagi:kommunekode>0849</dagi:kommunekode><dagi:navn>Jammerbugt</dagi:navn>
  <dagi:geometri><gml:MultiSurface srsName="urn:ogc:def:crs:EPSG::25832" gml:id="g1">
   <gml:surfaceMember><gml:Polygon gml:id="p1"><gml:exterior><gml:LinearRing><gml:posList>
    505000 6320000 545000 6320000 545000 6355000 505000 6355000 505000 6320000
   </gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember>
  </gml:MultiSurface></dagi:geometri>
 </dagi:Kommuneinddeling></wfs:member>
</wfs:FeatureCollection>"""


def test_dagi_wfs_gml_answer_and_an_exception_report(make_session, monkeypatch, tmp_path):
    monkeypatch.setenv("DATAFORDELER_API_KEY", "k-1")
    session, _, _ = make_session("dagi", lambda r: httpx.Response(
        200, content=DAGI_GML, headers={"content-type": "application/gml+xml"}))
    boundary = dagi.fetch_boundary(session, "849")
    assert boundary.crs.to_epsg() == 25832 and boundary["code"].iloc[0] == "0849"
    assert boundary.geometry.iloc[0].area == pytest.approx(40_000 * 35_000)
    report = b'<ows:ExceptionReport><ows:Exception exceptionCode="InvalidParameterValue"/>'
    session, _, _ = make_session("dagi", lambda r: httpx.Response(200, content=report),
                                 cache_dir=tmp_path / "other")
    with pytest.raises(SourceError, match="not a WFS FeatureCollection"):
        dagi.fetch_boundary(session, "0849")


def hip_file(path, x0=530_000.0, y0=6_330_000.0, depth=1.5):
    """A NetCDF in the HIP shape: no CRS, time in days since 0001-01-01, y ascending."""
    x = x0 + np.arange(4) * 100.0
    y = y0 + np.arange(3) * 100.0
    days = np.array([(pd.Timestamp(f"2020-0{m}-01") - pd.Timestamp("2000-01-01")).days
                     for m in (1, 2)]) + 730119       # 730119 days from 0001-01-01 to 2000-01-01
    values = np.full((2, 3, 4), depth, np.float32)
    values[1, 0, 0] = 0.4
    ds = xr.Dataset({"dybde": (("time", "y", "x"), values)},
                    coords={"time": ("time", days, {"units": "days since 0001-01-01 00:00:00",
                                                    "calendar": "proleptic_gregorian"}),
                            "x": x, "y": y})
    ds.to_netcdf(path, engine="netcdf4")
    return path


def test_hip_netcdf_without_crs_and_year_one_origin(tmp_path):
    depth = hip_groundwater.open_groundwater_depth(hip_file(tmp_path / "hip.nc"))
    assert [str(t)[:10] for t in depth.time.values] == ["2020-01-01", "2020-02-01"]
    assert depth.rio.crs.to_epsg() == 25832 and depth.attrs["crs_assumed"] == "EPSG:25832"
    assert depth.dims == ("time", "y", "x") and depth.y.values[0] > depth.y.values[-1]
    assert depth.isel(time=1).values[-1, 0] == pytest.approx(0.4)   # south-west cell, flipped
    assert depth.attrs["units"] == "m" and depth.attrs["hip_variable"] == "dybde"


def test_hip_refuses_files_not_in_denmark_utm(tmp_path):
    with pytest.raises(SourceError, match="not Denmark in EPSG:25832"):
        hip_groundwater.open_groundwater_depth(hip_file(tmp_path / "ll.nc", x0=9.1, y0=57.0))


def test_hip_truncated_file(tmp_path):
    path = hip_file(tmp_path / "hip.nc")
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(SourceError, match="not a readable NetCDF"):
        hip_groundwater.open_groundwater_depth(path)


def test_hip_from_a_url_is_cached(make_session, tmp_path):
    import httpx

    content = hip_file(tmp_path / "hip.nc").read_bytes()
    session, rec, _ = make_session("hip_groundwater",
                                   lambda r: httpx.Response(200, content=content))
    url = "https://example.org/hip/dybde.nc"
    first = hip_groundwater.fetch_groundwater_depth(session, url)
    second = hip_groundwater.fetch_groundwater_depth(session, url)
    assert len(rec.requests) == 1 and first.equals(second)
    html, _, _ = make_session("hip_groundwater",
                              lambda r: httpx.Response(200, content=b"<html>login</html>"))
    with pytest.raises(SourceError, match="not a NetCDF"):
        hip_groundwater.fetch_groundwater_depth(html, url + "?x")
