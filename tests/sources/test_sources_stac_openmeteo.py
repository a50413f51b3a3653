"""Copernicus STAC search, paging and token download; Open-Meteo parsing."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest
from sources_helpers import json_response, recorded_json

from wetindex.sources import copernicus_stac, openmeteo
from wetindex.sources.errors import CredentialMissingError, SourceError

BBOX = (9.03, 57.01, 9.92, 57.36)


def stac_handler(request: httpx.Request) -> httpx.Response:
    if request.url.host == "identity.dataspace.copernicus.eu":
        assert b"grant_type=password" in request.content and b"client_id=cdse-public" in \
            request.content
        return json_response({"access_token": "AT-1", "expires_in": 600})
    if request.url.host == "download.dataspace.copernicus.eu":
        assert request.headers["Authorization"] == "Bearer AT-1"
        return httpx.Response(200, content=b"PK\x03\x04 zip bytes")
    body = json.loads(request.content)
    assert body["collections"] == ["sentinel-1-grd"] and body["bbox"] == list(BBOX)
    page = 2 if body.get("token") == "next:page2" else 1
    return json_response(recorded_json(f"copernicus_stac_s1_page{page}.json"))


def test_stac_search_follows_post_paging(make_session):
    session, rec, _ = make_session("copernicus_stac", stac_handler)
    scenes = copernicus_stac.search(session, "sentinel-1-grd", BBOX, "2024-11-01", "2024-11-10")
    assert len(rec.requests) == 2 and rec.requests[0].method == "POST"
    assert json.loads(rec.requests[0].content)["datetime"] == \
        "2024-11-01T00:00:00Z/2024-11-10T00:00:00Z"
    assert list(scenes["id"].str[-1]) == ["1", "2", "3"]
    assert scenes.crs.to_epsg() == 4326 and scenes["orbit_state"].iloc[0] == "ascending"
    assert "download.dataspace" in json.loads(scenes["assets"].iloc[0])["product"]


def test_stac_empty_search(make_session):
    empty = {"type": "FeatureCollection", "features": [], "links": []}
    session, _, _ = make_session("copernicus_stac", lambda r: json_response(empty))
    with pytest.raises(SourceError, match="no sentinel-2-l2a scenes"):
        copernicus_stac.search(session, "sentinel-2-l2a", BBOX, "2024-11-01", "2024-11-02")
    assert len(copernicus_stac.search(session, "sentinel-2-l2a", BBOX, "2024-11-01",
                                      "2024-11-02", require=False)) == 0


def test_asset_download_with_token_never_stored(make_session, monkeypatch, tmp_path):
    monkeypatch.setenv("CDSE_USERNAME", "user@example.org")
    monkeypatch.setenv("CDSE_PASSWORD", "pw-secret")
    session, rec, _ = make_session("copernicus_stac", stac_handler)
    href = "https://download.dataspace.copernicus.eu/odata/v1/Products(id-1)/$value"
    path = copernicus_stac.download_asset(session, href)
    assert path.read_bytes().startswith(b"PK")
    assert copernicus_stac.download_asset(session, href) == path
    assert len(rec.requests) == 2                      # one token, one download; then cached
    stored = b"".join(p.read_bytes() for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert b"AT-1" not in stored and b"pw-secret" not in stored


def test_asset_download_without_account(make_session, monkeypatch):
    monkeypatch.delenv("CDSE_USERNAME", raising=False)
    session, _, _ = make_session("copernicus_stac", stac_handler)
    with pytest.raises(CredentialMissingError, match="CDSE_USERNAME"):
        copernicus_stac.download_asset(session, "https://download.dataspace.copernicus.eu/x")


def test_openmeteo_real_forecast_in_utc(real_dir):
    doc = json.loads((real_dir / "openmeteo_forecast_hourly.json").read_text())
    ds = openmeteo.hourly_dataset(doc, ("precipitation",), source="openmeteo_forecast",
                                  request="r")
    # the sample is in Europe/Berlin (+3600 s): local midnight is 23:00 UTC the day before
    assert str(ds.time.values[0])[:16] == "2026-03-01T23:00"
    assert ds["rain"].attrs["units"] == "mm/h"
    np.testing.assert_allclose(ds["rain"].isel(point=0).values, doc["hourly"]["precipitation"])
    with pytest.raises(SourceError, match="changed schema: no hourly 'et0_fao_evapotranspiration'"):
        openmeteo.hourly_dataset(doc, ("precipitation", "et0_fao_evapotranspiration"),
                                 source="s", request="r")
    doc["hourly_units"]["precipitation"] = "inch"
    with pytest.raises(SourceError, match="wrong units: 'precipitation' in 'inch'"):
        openmeteo.hourly_dataset(doc, ("precipitation",), source="s", request="r")


def test_openmeteo_archive_and_marine(make_session):
    def handler(request: httpx.Request) -> httpx.Response:
        name = "openmeteo_marine.json" if "marine" in request.url.host else \
            "openmeteo_archive_era5_land.json"
        return json_response(recorded_json(name))
    archive, rec, _ = make_session("openmeteo_archive", handler)
    ds = openmeteo.fetch_hourly(archive, "archive", [(9.5, 57.2)], start="2026-03-02",
                                end="2026-03-02")
    p = rec.requests[0].url.params
    assert p["models"] == "era5_land" and p["timezone"] == "UTC" and p["start_date"] == \
        "2026-03-02"
    assert ds["evaporation"].attrs["units"] == "mm/d"
    assert ds["evaporation"].isel(point=0, time=5).item() == pytest.approx(2.4)
    marine, _, _ = make_session("openmeteo_marine", handler)
    sea = openmeteo.fetch_hourly(marine, "marine", [(9.5, 57.2)])
    assert sea["sea_level"].attrs["coarse"] == 1 and sea.attrs["coarse"] == 1
    assert sea["sea_level"].isel(point=0, time=2).item() == pytest.approx(0.44)


def test_openmeteo_negative_rain_and_truncation(make_session):
    doc = recorded_json("openmeteo_archive_era5_land.json")
    doc["hourly"]["precipitation"][1] = -0.5
    with pytest.raises(SourceError, match=r"negative rain -0.5"):
        openmeteo.hourly_dataset(doc, ("precipitation",), source="s", request="r")
    cut = json.dumps(recorded_json("openmeteo_marine.json")).encode()[:120]
    session, _, _ = make_session("openmeteo_marine", lambda r: httpx.Response(200, content=cut))
    with pytest.raises(SourceError, match="not complete JSON") as err:
        openmeteo.fetch_hourly(session, "marine", [(9.5, 57.2)])
    assert "marine-api.open-meteo.com/v1/marine" in str(err.value)
