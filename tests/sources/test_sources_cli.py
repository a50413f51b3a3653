"""`wetindex sources` and `wetindex fetch` for every input family, on recorded answers.

One fake internet (a mock transport routing by host and path) answers every source
for an area at Jammerbugt; the CLI fetches each source into the cache, a repeat is
served from the cache, and offline mode names the item it lacks.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pytest
from sources_helpers import REAL, geotiff, json_response, recorded_json, wcs
from test_sources_dagi_hip import hip_file
from typer.testing import CliRunner

from wetindex.cli import app
from wetindex.sources import registry
from wetindex.sources.http import HttpClient

AREA_YAML = """\
name: jammerbugt-test
title: Jammerbugt (test)
demo: {}
grid: {crs: "EPSG:25832", cell_size: 100.0, x_min: 520000.0, y_max: 6340000.0, nx: 20, ny: 15}
"""


def fake_internet(tmp_path: Path):
    hip = hip_file(tmp_path / "hip_src.nc").read_bytes()
    xs = 9.0 + (np.arange(100) + 0.5) * 0.01
    ys = 58.0 - (np.arange(100) + 0.5) * 0.01
    cop = geotiff((20.0 + 0 * np.add.outer(ys, xs)).astype(np.float32), 9.0, 58.0, 0.01,
                  "EPSG:4326")
    empty = {"type": "FeatureCollection", "features": [], "links": []}

    def handler(request: httpx.Request) -> httpx.Response:
        host, path, params = request.url.host, request.url.path, request.url.params
        if host == "opendataapi.dmi.dk":
            if "/metObs/" in path:
                if "offset" in params:
                    return json_response(empty)
                return json_response(json.loads(
                    (REAL / "dmi_metobs_observations_06074.json").read_text()))
            if "/oceanObs/collections/station" in path:
                return json_response(recorded_json("dmi_oceanobs_stations.json"))
            if "/oceanObs/" in path:
                return json_response(recorded_json("dmi_oceanobs_sealev_dvr_20047.json"))
            if "/climateData/" in path:
                doc = recorded_json("dmi_climate_10km_makkink.json")
                for f in doc["features"]:
                    f["properties"]["parameterId"] = params["parameterId"]
                return json_response(doc)
            if "harmonie_dini_sf" in path:
                return json_response(recorded_json("dmi_edr_harmonie_cube.json"))
            if "dkss_" in path:
                return json_response(recorded_json("dmi_edr_dkss_position.json"))
        if host == "api.dataforsyningen.dk":
            return wcs()(request)
        if host == "copernicus-dem-30m.s3.amazonaws.com":
            return httpx.Response(200, content=cop) if "N57_00_E009" in path \
                else httpx.Response(404)
        if host == "wfs.datafordeler.dk":
            return json_response(recorded_json("dagi_wfs_0849.json"))
        if host == "example.org":
            return httpx.Response(200, content=hip)
        if host == "stac.dataspace.copernicus.eu":
            body = json.loads(request.content)
            if body["collections"] == ["sentinel-2-l2a"]:
                return json_response(empty)
            page = 2 if body.get("token") == "next:page2" else 1
            return json_response(recorded_json(f"copernicus_stac_s1_page{page}.json"))
        if host.endswith("open-meteo.com"):
            name = "openmeteo_marine.json" if host.startswith("marine") else \
                "openmeteo_archive_era5_land.json"
            return json_response(recorded_json(name))
        return httpx.Response(599, text=f"unexpected request {request.url}")
    return handler


@pytest.fixture
def project(tmp_path, monkeypatch):
    if not REAL.exists():
        pytest.skip(f"shared real samples not found at {REAL}")
    (tmp_path / "areas").mkdir()
    (tmp_path / "areas" / "jammerbugt-test.yaml").write_text(AREA_YAML)
    handler = fake_internet(tmp_path)
    monkeypatch.setattr(registry, "make_http", lambda **kw: HttpClient(
        httpx.MockTransport(handler), sleep=lambda s: None))
    monkeypatch.setenv("DATAFORSYNINGEN_TOKEN", "tok")
    monkeypatch.setenv("DATAFORDELER_API_KEY", "key")
    monkeypatch.delenv("WETINDEX_OFFLINE", raising=False)
    return tmp_path


def test_sources_lists_licences_and_attributions():
    result = CliRunner().invoke(app, ["sources"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for source in registry.FETCHERS:
        assert source in result.output
    assert "CC BY 4.0" in result.output and "DATAFORSYNINGEN_TOKEN" in result.output


SOURCES = [
    ("dmi_metobs", [], "rain (time 1, station 1)"),
    ("dmi_oceanobs", [], "sea_level (time 4, station 1)"),
    ("dmi_climate", [], "evaporation (time 2, cell 2)"),
    ("dmi_forecast_edr", [], "rain (time 4, point 2)"),
    ("dhm_terrain", [], "elevation (y 15, x 20)"),
    ("copernicus_dem", [], "elevation (y 15, x 20)"),
    ("dagi", ["--municipality", "0849"], "1 features"),
    ("hip_groundwater", ["--url", "https://example.org/hip.nc"],
     "groundwater_depth (time 2, y 3, x 4)"),
    ("copernicus_stac", [], "s1_grd: 3 features; s2_l2a: 0 features"),
    ("openmeteo_forecast", [], "point 1"),
    ("openmeteo_archive", [], "point 1"),
    ("openmeteo_marine", [], "point 1"),
]


def test_fetch_every_family_then_from_cache_then_offline(project):
    runner = CliRunner()
    base = ["fetch", "--root", str(project), "--area", "jammerbugt-test",
            "--start", "2023-10-26T00:00", "--end", "2023-10-27T00:00"]
    for source, extra, expect in SOURCES:
        first = runner.invoke(app, [*base, "--source", source, *extra])
        assert first.exit_code == 0, f"{source}: {first.output}"
        assert expect in first.output, f"{source}: {first.output}"
        assert " 0 from cache" in first.output and " 0 fetched" not in first.output
        again = runner.invoke(app, [*base, "--source", source, "--offline", *extra])
        assert again.exit_code == 0, f"{source} offline: {again.output}"
        assert " 0 fetched" in again.output
    records = list((project / "var" / "cache" / "requests").glob("*.json"))
    assert len(records) >= len(SOURCES)
    assert not any("tok" in r.read_text().replace("token", "") for r in records
                   if json.loads(r.read_text())["source"] == "dhm_terrain")
    other = runner.invoke(app, [*base[:-4], "--start", "2023-11-01", "--end", "2023-11-02",
                                "--source", "dmi_oceanobs", "--offline"])
    assert other.exit_code == 1
    assert "offline mode and this item is not in the cache" in other.output
    # the station list has no window and is served; the missing item is the new window
    assert "collections/observation/items?datetime=2023-11-01T00:00:00Z" in other.output


def test_fetch_with_a_config_path_and_errors(project):
    runner = CliRunner()
    cfg = project / "areas" / "jammerbugt-test.yaml"
    ok = runner.invoke(app, ["fetch", "--root", str(project), "--config", str(cfg), "--source",
                             "openmeteo_marine", "--start", "2026-03-02", "--end", "2026-03-03"])
    assert ok.exit_code == 0 and "Open-Meteo" in ok.output
    demo = runner.invoke(app, ["fetch", "--root", str(project), "--config", str(cfg),
                               "--source", "demo", "--start", "2026-03-02", "--end", "2026-03-03"])
    assert demo.exit_code == 1 and "computed, not fetched" in demo.output
    missing = runner.invoke(app, ["fetch", "--root", str(project), "--area", "nowhere",
                                  "--source", "dmi_metobs", "--start", "2026-03-02",
                                  "--end", "2026-03-03"])
    assert missing.exit_code == 2 and "wetindex init" in missing.output
