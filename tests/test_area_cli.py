"""`wetindex init / check / run / status` for a new area."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import geopandas as gpd
import pytest
import yaml
from local_area import tiny_project
from shapely.geometry import LineString, box
from typer.testing import CliRunner

from wetindex.cli import app
from wetindex.config import load_config

runner = CliRunner()


@pytest.fixture(scope="module")
def project(tmp_path_factory, project_root):
    return tiny_project(tmp_path_factory.mktemp("tiny"), project_root)


def _init(project, *args):
    return runner.invoke(app, ["init", "--root", str(project), *map(str, args)])


def test_init_from_the_dagi_file_by_kommune_code(project, real_fixtures):
    src = real_fixtures / "dagi_kommuner_2014_generalised.geojson"
    result = _init(project, "--aoi", src, "--kommune", "849", "--name", "jammerbugt",
                   "--cell-size", "100")
    assert result.exit_code == 0, result.output
    assert "Jammerbugt" in result.output and "Next steps" in result.output
    assert "add the missing inputs (terrain, sea_level)" in result.output  # rain: optional
    data = yaml.safe_load((project / "areas" / "jammerbugt.yaml").read_text())
    assert data["grid"]["crs"] == "EPSG:25832" and data["grid"]["cell_size"] == 100
    # Jammerbugt: ~ 860 km² between 9.2–10.0 °E, 57.0–57.2 °N (UTM 32 x ≈ 500–560 km)
    width_km = data["grid"]["nx"] * 100 / 1000
    assert 30 < width_km < 70 and 500_000 < data["grid"]["x_min"] < 540_000
    saved = gpd.read_file(project / "areas" / "jammerbugt.boundary.geojson")
    assert 700 < saved.to_crs("EPSG:25832").area.sum() / 1e6 < 1000
    assert "# the area grid" in (project / "areas" / "jammerbugt.yaml").read_text()


def test_init_from_a_boundary_in_another_crs_gives_the_same_grid(project, tmp_path):
    lonlat = gpd.read_file(project / "example-inputs" / "boundary.geojson")
    laea = tmp_path / "boundary_3035.gpkg"
    lonlat.to_crs("EPSG:3035").to_file(laea)
    result = _init(project, "--aoi", laea, "--name", "tiny-3035", "--margin-m", "100")
    assert result.exit_code == 0, result.output
    a = yaml.safe_load((project / "areas" / "tiny-3035.yaml").read_text())["grid"]
    b = load_config(project / "areas" / "tiny.yaml").grid
    assert abs(a["x_min"] - b.x_min) <= 10 and abs(a["nx"] - b.nx) <= 2
    assert "from EPSG:3035 to EPSG:25832" in result.output


@pytest.mark.parametrize("geometry,crs,message", [
    (LineString([(9, 57), (10, 57.1)]), "EPSG:4326", "not a polygon"),
    (box(540_000, 6_330_000, 545_000, 6_335_000), "EPSG:4326", "not lon/lat"),
    (box(-50, -20, -49, -19), "EPSG:4326", "outside the area of use"),
    (box(6, 54, 12, 58), "EPSG:4326", "more than 10,000 km²"),
    (box(9.5, 57.0, 9.50001, 57.00001), "EPSG:4326", "only 0 cells"),
])
def test_init_refuses_a_boundary_that_is_not_a_sensible_polygon(project, tmp_path, geometry,
                                                                crs, message):
    path = tmp_path / "aoi.gpkg"
    gpd.GeoDataFrame(geometry=[geometry], crs=crs).to_file(path)
    result = _init(project, "--aoi", path, "--name", "bad")
    assert result.exit_code == 2
    assert message in result.output
    assert not (project / "areas" / "bad.yaml").exists()


def test_init_input_errors_and_kommune_without_a_file(project, monkeypatch):
    result = _init(project, "--aoi", project / "example-inputs" / "boundary.geojson",
                   "--name", "x", "--input", "rain=/no/such.csv")
    assert result.exit_code == 2 and "no such file" in result.output
    result = _init(project, "--aoi", project / "example-inputs" / "boundary.geojson",
                   "--name", "x", "--input", "snow=/tmp")
    assert result.exit_code == 2 and "KIND one of" in result.output
    monkeypatch.delenv("DATAFORDELER_API_KEY", raising=False)
    result = _init(project, "--kommune", "0849")
    assert result.exit_code != 0 and "--aoi FILE" in result.output


def test_check_passes_then_names_a_missing_file(project, monkeypatch):
    monkeypatch.setenv("WETINDEX_NOW", "2025-06-08T23:30Z")  # the inputs end 23:00
    result = runner.invoke(app, ["check", "--area", "tiny", "--root", str(project)])
    assert result.exit_code == 0, result.output
    assert "ready" in result.output and "persistence" in result.output
    text = (project / "areas" / "tiny.yaml").read_text()
    terrain = next(ln for ln in text.splitlines() if ln.strip().startswith("terrain:"))
    (project / "areas" / "broken.yaml").write_text(
        text.replace(terrain, "    terrain: /no/such/terrain.tif").replace("name: tiny",
                                                                          "name: broken"))
    result = runner.invoke(app, ["check", "--area", "broken", "--root", str(project)])
    assert result.exit_code == 1
    assert "FAIL  terrain" in result.output and "/no/such/terrain.tif" in result.output


def test_unknown_config_key_is_rejected_with_its_name(project):
    text = (project / "areas" / "tiny.yaml").read_text().replace("name: tiny", "name: typo")
    (project / "areas" / "typo.yaml").write_text(text + "scheduel: {}\n")
    result = runner.invoke(app, ["check", "--area", "typo", "--root", str(project)])
    assert result.exit_code == 1 and "unknown key 'scheduel'" in result.output


def test_run_resumes_what_is_done(project):
    args = ["run", "history", "--area", "tiny", "--root", str(project)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "history   done" in first.output and "2400 h" in first.output
    again = runner.invoke(app, args)
    assert "history   reused" in again.output
    # without a model the forecast is the physical one (wetindex.physics); the learned
    # model, asked for by name, is refused with what to do
    bad = runner.invoke(app, ["run", "forecast", "--area", "tiny", "--root", str(project),
                              "--method", "learned"])
    assert bad.exit_code == 1 and "no trained model" in bad.output


def _fake_forecast(project, issued: datetime) -> None:
    folder = project / "var" / "tiny" / "forecasts" / f"{issued:%Y%m%dT%H%MZ}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "status.json").write_text(json.dumps({
        "issue_time": issued.isoformat(), "healthy": True, "inputs": [
            {"name": "rain", "status": "fresh", "last_time": issued.isoformat(), "detail": ""}],
        "proxies": {"forecast": "persistence"}}))
    (folder.parent / "LATEST").write_text(folder.name + "\n")


# the status's clock (wetindex.freshness.utc_now), injected: no test reads the wall clock
STATUS_NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_status_exits_non_zero_when_the_forecast_is_stale(project, monkeypatch):
    monkeypatch.setenv("WETINDEX_NOW", STATUS_NOW.isoformat())
    args = ["status", "--area", "tiny", "--root", str(project), "--json"]
    _fake_forecast(project, STATUS_NOW - timedelta(hours=1))
    fresh = runner.invoke(app, args)
    assert fresh.exit_code == 0, fresh.output
    report = json.loads(fresh.output)
    assert report["stale"] is False and 0.9 < report["forecast"]["age_h"] < 1.1
    assert report["forecast"]["proxies"] == {"forecast": "persistence"}
    assert report["paths"]["site"].endswith("site/current")

    _fake_forecast(project, STATUS_NOW - timedelta(hours=30))
    stale = runner.invoke(app, args[:-1])
    assert stale.exit_code == 1
    assert "STALE" in stale.output


def test_housekeeping_deletes_old_forecasts_and_cache_but_keeps_the_latest(project):
    import os

    from wetindex.commands.area import load_area
    from wetindex.stages.context import AreaContext
    from wetindex.stages.housekeeping import housekeeping

    ctx = AreaContext(load_area(project, "tiny"), project, project / "hk")
    now = STATUS_NOW  # housekeeping(ctx, now): the clock is injected
    forecasts = ctx.area_dir / "forecasts"
    old, latest, recent = (now - timedelta(days=40), now - timedelta(days=35),
                           now - timedelta(days=2))
    for t in (old, latest, recent):
        (forecasts / f"{t:%Y%m%dT%H%MZ}").mkdir(parents=True)
    (forecasts / "LATEST").write_text(f"{latest:%Y%m%dT%H%MZ}\n")
    # the one download cache beside the area folders: a record unused for 90 days goes,
    # with its object; a fresh one stays
    from wetindex.sources.cache import ResponseCache

    cache = ResponseCache(ctx.area_dir.parent / "cache")
    stale = cache.store("stale", b"x", source="t", method="GET", url="u", params={}, licence="")
    cache.store("fresh", b"y", source="t", method="GET", url="u", params={}, licence="")
    os.utime(cache.root / "requests" / "stale.json", (now.timestamp() - 90 * 86400,) * 2)
    os.utime(cache.root / "requests" / "fresh.json", (now.timestamp() - 86400,) * 2)

    done = housekeeping(ctx, now)
    left = sorted(p.name for p in forecasts.iterdir())
    assert left == sorted(["LATEST", f"{latest:%Y%m%dT%H%MZ}", f"{recent:%Y%m%dT%H%MZ}"])
    assert len(done["forecasts_removed"]) == 1 and done["cache_files_pruned"] == 1
    assert cache.lookup("fresh") is not None and cache.lookup("stale") is None
    assert not cache.object_path(stale.checksum).exists()
