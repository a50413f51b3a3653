"""A live area end to end on recorded Jammerbugt answers (loopback server, no network).

``init --kommune 0849`` → ``check`` → ``run all`` → ``run forecast`` three hours later
(only new data fetched) → an offline replay with identical probabilities; then the
failure shapes of the sources.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml
from live_world import REAL, LiveWorld, labels_file
from typer.testing import CliRunner

from wetindex.cli import app
from wetindex.forecast_io import open_forecast

runner = CliRunner()
ISSUE = pd.Timestamp("2026-01-10T06:00")
LATER = ISSUE + pd.Timedelta(hours=3)

pytestmark = pytest.mark.skipif(not REAL.exists(), reason=f"real samples not at {REAL}")


@pytest.fixture(scope="module")
def live(tmp_path_factory, project_root):
    """A project with a live Jammerbugt area, trained and forecast once at ISSUE."""
    base = tmp_path_factory.mktemp("live")
    project = base / "project"
    (project / "models").mkdir(parents=True)
    for link, target in (("pipelines", "pipelines"), ("web", "web"),
                         ("models/configs", "models/configs")):
        (project / link).symlink_to(project_root / target)
    world = LiveWorld(ISSUE + pd.Timedelta(minutes=5))
    mp = pytest.MonkeyPatch()
    mp.setenv("WETINDEX_CATALOG_DIR", str(world.catalog(base / "catalog")))
    mp.setenv("DATAFORDELER_API_KEY", "test-key")
    mp.setenv("DATAFORSYNINGEN_TOKEN", "test-token")
    mp.delenv("WETINDEX_OFFLINE", raising=False)
    labels = labels_file(base)
    result = runner.invoke(app, ["init", "--kommune", "0849", "--name", "jammerbugt",
                                 "--cell-size", "50", "--margin-m", "100", "--root",
                                 str(project), "--input", f"labels={labels}"])
    assert result.exit_code == 0, result.output
    # a small model (few trees, rows and folds) so the test stays short
    model_cfg = yaml.safe_load((project_root / "models/configs/default.yaml").read_text())
    model_cfg["lightgbm"].update(num_boost_round=40, early_stopping_rounds=10)
    model_cfg["sampling"].update(training_cells=1500, max_positive_rows=8000,
                                 max_negative_rows=16000)
    model_cfg["cv"].update(n_folds=2, max_rows=6000)
    model_cfg["evaluation"].update(cells=200, issue_step_h=48, baseline_rounds=40,
                                   baseline_max_rows=50_000, report_images=False,
                                   events=False)
    (base / "small.yaml").write_text(yaml.safe_dump(model_cfg))
    area_file = project / "areas" / "jammerbugt.yaml"
    # the live data path through the learned model's rain zones: a model this small does
    # not pass the gate, so it is put live on purpose (forced) rather than the physical one
    area = yaml.safe_load(area_file.read_text())
    area.setdefault("training", {}).update(model_config_file=str(base / "small.yaml"),
                                           force_model=True)
    area.setdefault("forecast", {})["method"] = "learned"
    area_file.write_text(yaml.safe_dump(area, sort_keys=False))
    state = {"project": project, "world": world, "init": result.output}
    yield state
    mp.undo()
    world.close()


def _trace(result) -> str:
    import traceback

    if result.exc_info is None or isinstance(result.exception, SystemExit):
        return ""
    return "".join(traceback.format_exception(*result.exc_info))


def _run(live, *args, issue=ISSUE):
    return runner.invoke(app, [*args, "--area", "jammerbugt", "--root", str(live["project"]),
                               "--issue-time", issue.isoformat()])


def test_init_writes_a_live_area_with_its_stations(live):
    area = yaml.safe_load((live["project"] / "areas" / "jammerbugt.yaml").read_text())
    assert area["source"] == "live"
    assert area["live"]["municipality"] == "0849"
    assert area["live"]["sea_stations"] == ["20999"] and area["live"]["sea_point"]
    assert set(area["live"]["rain_stations"][:2]) == {"06031", "06030"}
    assert area["grid"]["cell_size"] == 50 and area["grid"]["nx"] < 100
    assert "labels" in area["live"]["overrides"]
    # --aoi with --live: the boundary from a file, the inputs live
    result = runner.invoke(app, ["init", "--aoi", str(REAL / "dagi_kommuner_2014_generalised"
                                                     ".geojson"), "--kommune", "849",
                                 "--name", "jb-file", "--live", "--cell-size", "500",
                                 "--root", str(live["project"])])
    assert result.exit_code == 0, result.output
    other = yaml.safe_load((live["project"] / "areas" / "jb-file.yaml").read_text())
    assert other["source"] == "live" and other["live"]["sea_stations"] == ["20999"]


def test_run_all_then_three_hours_later_then_offline_replay(live, monkeypatch):
    project, world = live["project"], live["world"]
    monkeypatch.setenv("WETINDEX_NOW", world.now.isoformat())
    check = runner.invoke(app, ["check", "--area", "jammerbugt", "--root", str(project)])
    assert check.exit_code == 0, check.output
    for line in ("credential DATAFORSYNINGEN_TOKEN (dhm_terrain): set",
                 "dmi_metobs (rain): reachable, newest 2026-01-10 06:00",
                 "dmi_oceanobs (sea_level): reachable, newest 2026-01-10 06:00",
                 "dmi_forecast_edr (harmonie_dini_sf): reachable, newest 2026-01-10 03:00",
                 "policy rain_forecast: fill none; fallback Open-Meteo"):
        assert line in check.output, check.output
    monkeypatch.delenv("WETINDEX_NOW")

    before = len(world.requests)
    result = _run(live, "run", "all")
    assert result.exit_code == 0, result.output + _trace(result)
    first_requests = len(world.requests) - before
    folder = project / "var" / "jammerbugt" / "forecasts" / f"{ISSUE:%Y%m%dT%H%MZ}"
    status = json.loads((folder / "status.json").read_text())
    assert "training_forecast" in status["proxies"]
    fc = open_forecast(folder).load()  # levels in forecast.nc, fractions in the GeoTIFFs
    assert fc.attrs["driver_forecast"] == "forecast"
    archived = project / "var" / "jammerbugt" / "live" / "archive" / f"{ISSUE:%Y%m%dT%H%MZ}.nc"
    drivers = xr.load_dataset(archived)
    # the storm of 2026-01-11 06:00 is 24 h ahead: the forecast rain and sea rise there
    assert float(drivers["rain"].sel(lead=24)) > 5 * float(drivers["rain"].sel(lead=1)) + 1
    assert float(drivers["sea_level"].sel(lead=24)) > 1.0
    # rain by HARMONIE grid point: the cells are split into driver zones
    assert drivers.sizes["zone"] >= 2 and fc.attrs["driver_zones"] >= 2
    assert drivers["rain_zone"].std("zone").max() > 0
    card = next((project / "models" / "jammerbugt").rglob("model_card.md")).read_text()
    assert "error model by lead" in card

    # three hours later: closed windows come from the cache, only the tail and the
    # new model runs are fetched
    world.now = LATER + pd.Timedelta(minutes=5)
    before = len(world.requests)
    later = _run(live, "run", "forecast", issue=LATER)
    assert later.exit_code == 0, later.output + _trace(later)
    new = world.requests[before:]
    assert 0 < len(new) < first_requests / 5, (len(new), first_requests)
    old = [r for r in new if "datetime=2025" in r]
    assert not old, old   # no closed window again
    assert sum("/instances/" in r for r in new) == 2           # one HARMONIE, one DKSS run

    # offline replay of the first issue: from the cache only, identical probabilities
    shutil.rmtree(folder)
    archived.unlink()
    monkeypatch.setenv("WETINDEX_OFFLINE", "1")
    world.now = pd.Timestamp("2030-01-01")  # the server would answer differently now
    before = len(world.requests)
    replay = _run(live, "run", "forecast")
    assert replay.exit_code == 0, replay.output + _trace(replay)
    assert len(world.requests) == before
    again = open_forecast(folder).load()
    np.testing.assert_array_equal(again["probability"].values, fc["probability"].values)


# ---- failure shapes: each source's bad answers, on a fresh cache --------------------------

def _inputs(live, tmp_path):
    from wetindex.commands.area import load_area
    from wetindex.sources.http import HttpClient
    from wetindex.sources.live import LiveInputs

    live["world"].now = ISSUE + pd.Timedelta(minutes=5)
    live["world"].faults.clear()
    live["world"].drop_hours.clear()
    config = load_area(live["project"], "jammerbugt")
    config = config.model_copy(update={"live": config.live.model_copy(
        update={"history_days": 31})})
    sleeps: list[float] = []
    inputs = LiveInputs(config, live["project"], tmp_path / "var" / "jammerbugt", now=ISSUE,
                        http=HttpClient(sleep=sleeps.append))
    return inputs, sleeps


def _truncated() -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/geo+json"}, b'{"type":"FeatureCollection","fe'


def test_429_with_retry_after_is_waited_for_and_5xx_falls_back_to_a_named_source(
        live, tmp_path):
    inputs, sleeps = _inputs(live, tmp_path)
    world = live["world"]
    world.faults["/dmi_metobs/collections/observation/items"] = [
        (429, {"Retry-After": "7"}, b"fair use limit")]
    world.faults["/harmonie_dini_sf/instances/"] = [(503, {}, b"busy")] * 3
    obs = inputs.observed(np.datetime64(ISSUE - pd.Timedelta(days=2)), np.datetime64(ISSUE))
    assert np.isfinite(obs["rain"].values).all()
    assert 7.0 in sleeps                          # the Retry-After asked for
    fc = inputs.forecast(np.datetime64(ISSUE))
    assert "Open-Meteo forecast instead" in inputs.proxies["fallback:rain_forecast"]
    assert "HTTP 503" in inputs.proxies["fallback:rain_forecast"]
    assert fc.attrs["rain_run"].startswith("open-meteo")
    assert float(fc["rain"].sel(lead=24)) > 5     # the storm, from the fallback


def test_truncated_and_changed_schema_are_clear_errors_and_never_cached(live, tmp_path):
    from wetindex.sources.base import InputMissingError

    inputs, _ = _inputs(live, tmp_path)
    world = live["world"]
    world.faults["/dmi_oceanobs/collections/observation/items"] = [_truncated()]
    with pytest.raises(InputMissingError, match="not complete JSON"):
        inputs.observed_end()
    again, _ = _inputs(live, tmp_path)             # the same cache: the bad answer not kept
    assert pd.Timestamp(again.observed_end()) == ISSUE
    renamed = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {
        "type": "Point", "coordinates": [9.6, 57.3]}, "properties": {
            "step": "2026-01-10T03:00:00.000Z", "sea-level-deviation": 0.2}}]}
    world.faults["/dkss_nsbs/instances/"] = [(200, {}, json.dumps(renamed).encode())]
    with pytest.raises(InputMissingError, match=r"changed schema.*sea-mean-deviation"):
        again.forecast(np.datetime64(ISSUE))


def test_a_stale_surge_feed_refuses_and_a_missing_hour_is_filled_and_named(live, tmp_path):
    from wetindex.sources.base import InputMissingError

    inputs, _ = _inputs(live, tmp_path)
    world = live["world"]
    world.drop_hours.add(ISSUE - pd.Timedelta(hours=30))
    old = pd.Timestamp("2026-01-08T00:00")
    listing = {"instances": [{"id": old.strftime("%Y-%m-%dT%H:%M:%S.000Z")}]}
    world.faults["/dkss_nsbs/instances?"] = [(200, {}, json.dumps(listing).encode())]
    obs = inputs.observed(np.datetime64(ISSUE - pd.Timedelta(days=2)), np.datetime64(ISSUE))
    assert np.isfinite(obs["rain"].values).all()
    assert "1 missing hour(s) filled" in inputs.proxies["gap:rain"]
    with pytest.raises(InputMissingError, match="stale feed: no model run within 12 h"):
        inputs.forecast(np.datetime64(ISSUE))


def test_outside_denmark_open_meteo_serves_rain_and_evaporation(live, tmp_path):
    inputs, _ = _inputs(live, tmp_path)
    spec = inputs.spec.model_copy(update={"region": "global", "sea_stations": []})
    inputs = type(inputs)(inputs.config.model_copy(update={"live": spec}), live["project"],
                          tmp_path / "var" / "global", now=ISSUE)
    obs = inputs.observed(np.datetime64(ISSUE - pd.Timedelta(days=2)), np.datetime64(ISSUE))
    assert np.isfinite(obs["rain"].values).all() and (obs["evaporation"] > 0).all()
    assert (obs["sea_level"] == -10.0).all() and "non-coastal" in inputs.proxies["sea_level"]
    fc = inputs.forecast(np.datetime64(ISSUE))
    assert fc.attrs["rain_run"].startswith("open-meteo") and "rain_zone" not in fc
    assert set(inputs.used_sources) == {"openmeteo_archive", "openmeteo_forecast"}


def test_training_reads_the_archive_and_the_substitute_before_it(live):
    from wetindex.commands.area import load_area
    from wetindex.sources.forecast_archive import archive_path
    from wetindex.sources.live import LiveInputs

    area_dir = live["project"] / "var" / "jammerbugt"
    live["world"].now = LATER + pd.Timedelta(minutes=5)
    inputs = LiveInputs(load_area(live["project"], "jammerbugt"), live["project"], area_dir,
                        now=LATER)
    early = ISSUE - pd.Timedelta(days=20)
    issues = np.array([early, LATER], "datetime64[ns]")
    many = inputs.forecasts_many(issues)
    archived = xr.load_dataset(archive_path(area_dir, LATER))
    np.testing.assert_array_equal(many["rain"].sel(issue_time=issues[1]).values,
                                  archived["rain"].values)
    # before the archive: the observed rain with an error growing by lead, the same each time
    truth = inputs._drivers["rain"].reindex(early + pd.to_timedelta(np.arange(1, 49), "h"))
    sub = many["rain"].sel(issue_time=issues[0]).values
    assert np.array_equal(sub > 0, truth.to_numpy() > 0)
    again = inputs.forecasts_many(issues[:1])["rain"].values[0]
    np.testing.assert_array_equal(sub, again)
    assert "archive: 2 run(s)" in inputs.proxies["training_forecast"]


def test_a_hip_netcdf_without_crs_is_the_groundwater_grid(live, tmp_path):
    from wetindex.config import LocalInput

    x = np.arange(532_000.0, 537_500.0, 500.0)
    y = np.arange(6_342_500.0, 6_347_500.0, 500.0)            # ascending, as HIP writes it
    days = np.array([(pd.Timestamp(d) - pd.Timestamp("2000-01-01")).days
                     for d in ("2025-12-01", "2026-02-01")]) + 730119
    depth = np.stack([np.full((len(y), len(x)), 1.2), np.full((len(y), len(x)), 0.3)])
    path = tmp_path / "hip.nc"
    xr.Dataset({"dybde": (("time", "y", "x"), depth.astype("float32"))},
               coords={"time": ("time", days, {"units": "days since 0001-01-01 00:00:00",
                                               "calendar": "proleptic_gregorian"}),
                       "x": x, "y": y}).to_netcdf(path, engine="netcdf4")
    inputs, _ = _inputs(live, tmp_path)
    overrides = inputs.spec.overrides.model_copy(update={"groundwater": LocalInput(
        path=str(path))})
    spec = inputs.spec.model_copy(update={"overrides": overrides})
    inputs = type(inputs)(inputs.config.model_copy(update={"live": spec}), live["project"],
                          tmp_path / "var" / "hip", now=ISSUE)
    base = inputs._base_depth
    # the December layer (the February one is after the issue time), on the whole grid
    np.testing.assert_allclose(base, 1.2, atol=1e-5)


def test_rain_stations_weigh_by_distance_and_a_silent_station_drops_out(live, tmp_path):
    inputs, _ = _inputs(live, tmp_path)
    t = pd.date_range(ISSUE, periods=3, freq="1h")
    frame = pd.DataFrame({"near": [1.0, np.nan, np.nan], "far": [5.0, 5.0, np.nan]}, index=t)
    where = {"near": (9.58, 57.26), "far": (10.6, 57.73)}     # ~1 km and ~70 km away
    mean = inputs._station_mean(frame, where)
    assert 1.0 < mean.iloc[0] < 1.01        # the near station dominates
    assert mean.iloc[1] == 5.0              # only the far one reported: its value
    assert np.isnan(mean.iloc[2])           # none reported: missing, never zero
