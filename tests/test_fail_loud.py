"""Issue #15: wrong, stale and missing inputs give one clear error or an honest degraded
forecast, never a crash or a silently wrong product.

Each case is a variant of the tiny local area (``failloud_area.area_variant``) probed
through the CLI an operator uses, with ``WETINDEX_NOW`` injected.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401 - .rio on xarray objects
import xarray as xr
from failloud_area import (
    FRESH_NOW,
    area_variant,
    cli,
    input_path,
    install_model,
    strict_json,
)
from local_area import tiny_project
from shapely.geometry import box

from wetindex.alerts.crypto import generate_key
from wetindex.jsonutil import dumps
from wetindex.modelgate import model_passes_gate


@pytest.fixture(scope="module")
def project(tmp_path_factory, project_root):
    return tiny_project(tmp_path_factory.mktemp("tiny"), project_root)


def _csv(project, kind: str) -> pd.DataFrame:
    return pd.read_csv(input_path(project, kind))


def _write(project, frame: pd.DataFrame, name: str) -> str:
    path = project / "bad-inputs" / name
    path.parent.mkdir(exist_ok=True)
    frame.to_csv(path, index=False)
    return str(path)


def _terrain(project, name: str, change) -> str:
    da = xr.open_dataarray(input_path(project, "terrain"), engine="rasterio").squeeze(
        "band", drop=True)
    out = change(da)
    path = project / "bad-inputs" / name
    path.parent.mkdir(exist_ok=True)
    out.rio.to_raster(path)
    return str(path)


# ------------------------------------------------------------------ plausibility at check

def _sea_in_cm(p):
    f = _csv(p, "sea_level")
    f["sea_level"] *= 100
    return {"sea_level": _write(p, f, "sea_cm_as_m.csv")}


def _metres_labelled_cm(p):
    return {"sea_level": {"path": str(input_path(p, "sea_level")), "units": "cm"}}


def _rain_500(p):
    f = _csv(p, "rain")
    f.loc[100, "rain"] = 500.0
    return {"rain": _write(p, f, "rain_500.csv")}


def _rain_duplicated(p):
    f = _csv(p, "rain")
    return {"rain": _write(p, pd.concat([f, f.iloc[10:20]]), "rain_dup.csv")}


def _rain_naive(p):
    f = _csv(p, "rain")
    f["time"] = f["time"].str.replace("Z", "", regex=False)
    return {"rain": _write(p, f, "rain_naive.csv")}


def _rain_negative(p):
    f = _csv(p, "rain")
    f.loc[5, "rain"] = -3.0
    return {"rain": _write(p, f, "rain_negative.csv")}


def _evaporation_in_tenths(p):
    f = _csv(p, "evaporation")
    f["evaporation"] *= 100
    return {"evaporation": _write(p, f, "evap_x100.csv")}


def _terrain_cm(p):
    return {"terrain": _terrain(p, "terrain_cm.tif", lambda da: da * 100)}


def _terrain_3x3(p):
    def coarse(da):
        return da.rio.reproject(da.rio.crs, shape=(3, 3))
    return {"terrain": _terrain(p, "terrain_3x3.tif", coarse)}


def _terrain_half(p):
    def half(da):
        return da.isel(x=slice(0, da.sizes["x"] // 2))
    return {"terrain": _terrain(p, "terrain_half.tif", half)}


@pytest.mark.parametrize("make,expect", [
    (_sea_in_cm, ["sea_level", "m at", "centimetres", "units: cm"]),
    (_metres_labelled_cm, ["sea_level", "look like metres", "units"]),
    (_rain_500, ["rain", "500 mm/h", "not hourly rain in mm/h"]),
    (_rain_duplicated, ["rain", "10 time(s) appear more than once", "remove the repeated rows"]),
    (_rain_naive, ["rain", "without a UTC offset", "timezone: Europe/Copenhagen"]),
    (_rain_negative, ["rain", "-3 mm/h", "negative"]),
    (_evaporation_in_tenths, ["evaporation", "mm/d"]),
    (_terrain_cm, ["terrain", "centimetres", "units: cm"]),
    (_terrain_3x3, ["terrain", "pixels of", "3 × 3", "or finer"]),
    (_terrain_half, ["terrain", "does not cover the boundary", "covers"]),
], ids=["sea-cm-as-m", "sea-m-as-cm", "rain-500", "rain-duplicated", "rain-naive-times",
        "rain-negative", "evaporation-x100", "terrain-cm", "terrain-3x3", "terrain-half"])
def test_check_refuses_an_implausible_input_naming_value_and_fix(project, monkeypatch, make,
                                                                 expect, request):
    name = area_variant(project, f"bad-{request.node.callspec.id}", make(project))
    result = cli(project, "check", "--area", name, now=FRESH_NOW, monkeypatch=monkeypatch)
    assert result.exit_code == 1, result.output
    fail = "\n".join(ln for ln in result.output.splitlines() if "FAIL" in ln)
    for word in expect:
        assert word in fail, (word, result.output)
    # and the stage that reads the input refuses before any work, with the same one line
    stage = "static" if expect[0] == "terrain" else "history"
    run = cli(project, "run", stage, "--area", name, now=FRESH_NOW, monkeypatch=monkeypatch)
    assert run.exit_code == 1 and expect[0] in run.output and "implausible" in run.output


def test_naive_times_are_read_in_the_zone_the_config_names(project, monkeypatch):
    f = _csv(project, "rain").iloc[24 * 40:]  # April on: no daylight-saving change inside
    f["time"] = f["time"].str.replace("Z", "", regex=False)
    naive = _write(project, f, "rain_naive_april.csv")
    name = area_variant(project, "naive-cph", {"rain": {"path": naive,
                                                        "timezone": "Europe/Copenhagen"}})
    from wetindex.commands.area import load_area
    from wetindex.sources.local import LocalInputs, read_series

    cfg = load_area(project, name)
    shifted = read_series(cfg.inputs.rain, "rain", LocalInputs(cfg, project).path("rain"))
    utc = read_series(load_area(project, "tiny").inputs.rain, "rain",
                      input_path(project, "rain"))
    # June in Copenhagen is UTC+2: the same values two hours earlier
    assert shifted.index[0] == pd.Timestamp(f["time"].iloc[0]) - pd.Timedelta(hours=2)
    start = utc.index.get_loc(pd.Timestamp(f["time"].iloc[0]))
    np.testing.assert_allclose(shifted.values[:500], utc.values[start:start + 500])


def test_metres_with_cm_fixed_by_units_passes(project, monkeypatch):
    cm = _sea_in_cm(project)["sea_level"]
    name = area_variant(project, "sea-cm-ok", {"sea_level": {"path": cm, "units": "cm"}})
    result = cli(project, "check", "--area", name, now=FRESH_NOW, monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output


# ------------------------------------------------------------------ size before memory

def test_a_10000_km2_boundary_is_refused_at_init_with_the_cell_count(project, tmp_path):
    aoi = tmp_path / "big.gpkg"
    # ~99 × 99 km: just under the 10,000 km² boundary limit, ~1e8 cells at 10 m
    gpd.GeoDataFrame(geometry=[box(450_000, 6_250_000, 549_000, 6_349_000)],
                     crs="EPSG:25832").to_file(aoi)
    result = cli(project, "init", "--aoi", str(aoi), "--name", "huge")
    assert result.exit_code == 2, result.output
    assert "cells of 10 m" in result.output and "--cell-size" in result.output
    assert not (project / "areas" / "huge.yaml").exists()


def test_check_refuses_a_huge_grid_before_reading_anything(project, monkeypatch):
    name = area_variant(project, "huge-grid", grid={"nx": 12_000, "ny": 12_000})
    result = cli(project, "check", "--area", name, now=FRESH_NOW, monkeypatch=monkeypatch)
    assert result.exit_code == 1
    assert "144,000,000 cells" in result.output and "--cell-size" in result.output


# ------------------------------------------------------------------ one missing rain hour

def test_one_missing_rain_hour_months_back_leaves_later_features_finite():
    from wetindex.features.hydromet import HISTORY_NEEDED_H
    from wetindex.features.stack import DRIVER_FEATURES, drivers_for_issues

    hours = pd.date_range("2025-01-01", periods=24 * 120, freq="1h")
    rng = np.random.default_rng(1)
    rain = rng.gamma(0.3, 1.0, len(hours)).astype("float32")
    rain[100] = np.nan  # one hour missing, months before the issue times
    observed = xr.Dataset({
        "rain": ("time", rain), "evaporation": ("time", np.full(len(hours), 1.0, "float32")),
        "sea_level": ("time", np.zeros(len(hours), "float32")),
        "groundwater_anomaly": ("time", np.zeros(len(hours), "float32"))},
        coords={"time": hours})
    issues = hours[[HISTORY_NEEDED_H + 10, len(hours) - 60]].values
    leads = np.arange(1, 49)
    fc = xr.Dataset({k: (("issue_time", "lead"), np.ones((2, 48), "float32"))
                     for k in ("rain", "sea_level", "groundwater_anomaly")},
                    coords={"issue_time": issues, "lead": leads})
    rows = drivers_for_issues(observed, fc, issues)
    later = rows[1]
    ok = np.isfinite(later).all(0)
    assert ok.all(), [f for f, good in zip(DRIVER_FEATURES, ok, strict=True) if not good]


# ------------------------------------------------------------------ stages need only their inputs

def test_broken_labels_block_neither_forecast_nor_publish(project, monkeypatch):
    bad = project / "bad-inputs" / "labels_broken.nc"
    bad.parent.mkdir(exist_ok=True)
    bad.write_bytes(b"this is not NetCDF")
    name = area_variant(project, "broken-labels", {"labels": str(bad)})
    install_model(project, name)
    forecast = cli(project, "run", "forecast", "--area", name, now=FRESH_NOW,
                   monkeypatch=monkeypatch)
    assert forecast.exit_code == 0, forecast.output
    publish = cli(project, "run", "publish", "--area", name, now=FRESH_NOW,
                  monkeypatch=monkeypatch)
    assert publish.exit_code == 0, publish.output
    train = cli(project, "run", "train", "--area", name, now=FRESH_NOW, monkeypatch=monkeypatch)
    assert train.exit_code == 1 and "labels" in train.output
    assert len([ln for ln in train.output.splitlines() if ln.strip()]) <= 3


def test_an_unexpected_error_is_one_line_with_the_details_saved(project, monkeypatch):
    name = area_variant(project, "boom")
    install_model(project, name)

    def explode(*a, **k):
        raise KeyError("internal")

    monkeypatch.setattr("wetindex.stages.forecast.gather_inputs", explode)
    result = cli(project, "run", "forecast", "--area", name, now=FRESH_NOW,
                 monkeypatch=monkeypatch)
    assert result.exit_code == 1
    assert "KeyError" in result.output and "details:" in result.output
    saved = list((project / "var" / name / "logs").glob("error-*.txt"))
    assert saved and "Traceback" in saved[0].read_text()


# ------------------------------------------------------------------ freshness

def test_a_late_feed_degrades_within_the_policy_and_refuses_beyond(project, monkeypatch):
    name = area_variant(project, "late-feed")
    install_model(project, name)
    fresh = cli(project, "run", "forecast", "--area", name, now=FRESH_NOW,
                monkeypatch=monkeypatch)
    assert fresh.exit_code == 0 and "issued 2025-06-08 21:00" in fresh.output

    # 2 h after the data end: the 00:00 slot is owed, drivers continued 1 h: degraded
    late = cli(project, "run", "forecast", "--area", name, now="2025-06-09T01:00Z",
               monkeypatch=monkeypatch)
    assert late.exit_code == 3, late.output
    assert "issued 2025-06-09 00:00" in late.output and "DEGRADED" in late.output
    st = strict_json((project / "var" / name / "forecasts" / "20250609T0000Z" /
                      "status.json").read_text())
    assert st["healthy"] is False and st["issue_time"].startswith("2025-06-09T00:00")
    assert {i["name"]: i["status"] for i in st["inputs"]}["rain"] == "stale"
    status = cli(project, "status", "--area", name, "--json", now="2025-06-09T01:00Z",
                 monkeypatch=monkeypatch)
    assert status.exit_code == 3 and strict_json(status.output)["degraded"] is True

    # 72 h later: refused, never issued for three days ago
    stopped = cli(project, "run", "forecast", "--area", name, now="2025-06-11T23:30Z",
                  monkeypatch=monkeypatch)
    assert stopped.exit_code == 1, stopped.output
    assert "REFUSED" in stopped.output and "rain ends 2025-06-08 23:00" in stopped.output
    folders = sorted(p.name for p in (project / "var" / name / "forecasts").glob("2*"))
    assert folders == ["20250608T2100Z", "20250609T0000Z"]
    for cmd in (["check"], ["status"]):
        r = cli(project, *cmd, "--area", name, now="2025-06-11T23:30Z",
                monkeypatch=monkeypatch)
        assert r.exit_code == 1, (cmd, r.output)
    st = strict_json(cli(project, "status", "--area", name, "--json", now="2025-06-11T23:30Z",
                         monkeypatch=monkeypatch).output)
    assert st["stale"] and st["not_updated"]["since"].startswith("2025-06-09T00:00")
    site = project / "var" / name / "site" / "current"
    for page in ("index.html", "status.html", "en/status.html"):
        html = (site / page).read_text()
        assert ("Not updated since" in html or "Ikke opdateret siden" in html), page
        assert 'class="banner banner-not-updated"' in html  # rendered, no script needed
    atom = (project / "var" / name / "feed" / "atom.xml").read_text()
    assert 'term="not_updated"' in atom and "NOT UPDATED" in atom


def test_the_policy_can_refuse_any_delay_of_one_family(project, monkeypatch):
    name = area_variant(project, "strict-sea",
                        forecast={"missing_data_max_h": {"sea_level": 0}})
    install_model(project, name)
    r = cli(project, "run", "forecast", "--area", name, now="2025-06-09T01:00Z",
            monkeypatch=monkeypatch)
    assert r.exit_code == 1 and "sea_level ends" in r.output and "allows 0 h" in r.output


def test_a_dead_sea_gauge_is_stale_not_fresh(project, monkeypatch):
    f = _csv(project, "sea_level")
    f.loc[len(f) - 24:, "sea_level"] = np.nan  # 24 h of NaN at the end
    name = area_variant(project, "dead-gauge", {"sea_level": _write(project, f, "dead.csv")})
    install_model(project, name)
    r = cli(project, "run", "forecast", "--area", name, now=FRESH_NOW, monkeypatch=monkeypatch)
    assert r.exit_code == 1 and "sea_level ends 2025-06-07 23:00" in r.output
    check = cli(project, "check", "--area", name, now=FRESH_NOW, monkeypatch=monkeypatch)
    assert check.exit_code == 1 and "FAIL  freshness" in check.output


# ------------------------------------------------------------------ subscribers

def test_one_bad_subscription_is_skipped_and_the_others_get_their_alert(project, monkeypatch):
    outline = gpd.read_file(input_path(project, "boundary")).to_crs("EPSG:4326")
    ring = [list(c) for c in outline.geometry.iloc[0].exterior.coords]
    subs = project / "bad-inputs" / "subs.yaml"
    subs.parent.mkdir(exist_ok=True)
    subs.write_text(json.dumps({"subscribers": [
        {"id": "bowtie", "name": "Broken", "email": "a@example.dk",
         "shape": {"polygon": [[9.6, 57.1], [9.7, 57.2], [9.7, 57.1], [9.6, 57.2]]}},
        {"id": "whole-area", "name": "Kommunen", "email": "beredskab@example.dk",
         "min_level": 1, "shape": {"polygon": ring}},
        {"id": "typo", "name": "Typo", "emial": "x@example.dk", "shape": {"point": [9.6, 57.1]}},
    ]}))
    name = area_variant(project, "subs", alerts={"subscriptions": str(subs)})
    install_model(project, name)
    monkeypatch.setenv("WETINDEX_SECRET_KEY", generate_key())
    check = cli(project, "check", "--area", name, now=FRESH_NOW, monkeypatch=monkeypatch)
    assert check.exit_code == 1
    assert "'bowtie'" in check.output and "'typo'" in check.output
    # the import takes the good entry, names the two bad ones and says it was partial
    imported = cli(project, "subscribers", "import", str(subs), "--area", name)
    assert imported.exit_code != 0 and "imported 1 of 1" in imported.output
    assert "'bowtie'" in imported.output and "'typo'" in imported.output
    r = cli(project, "run", "alerts", "--area", name, now=FRESH_NOW, monkeypatch=monkeypatch)
    assert r.exit_code == 0, r.output
    assert "1 sent" in r.output or "1 decision" in r.output


# ------------------------------------------------------------------ model gate

def test_a_model_worse_than_the_references_is_not_put_live(project, monkeypatch):
    name = area_variant(project, "bad-model")
    install_model(project, name, passing=False)
    r = cli(project, "run", "forecast", "--area", name, "--method", "learned", now=FRESH_NOW,
            monkeypatch=monkeypatch)
    assert r.exit_code == 1 and "not put live" in r.output and "climatology" in r.output
    assert not (project / "var" / name / "forecasts").exists()
    # left to itself (forecast.method auto) the area forecasts with the physical method
    auto = cli(project, "run", "forecast", "--area", name, now=FRESH_NOW, monkeypatch=monkeypatch)
    assert auto.exit_code == 0 and "(physical)" in auto.output, auto.output
    forced = cli(project, "run", "forecast", "--area", name, "--method", "learned", "--force",
                 now=FRESH_NOW, monkeypatch=monkeypatch)
    assert forced.exit_code == 0 and "(learned)" in forced.output, forced.output
    st = cli(project, "status", "--area", name, "--json", now=FRESH_NOW, monkeypatch=monkeypatch)
    report = strict_json(st.output)  # the model's NaN BSS is null, not NaN
    assert report["model"]["passes_gate"] is False
    assert report["model"]["brier_skill"]["model"] == [-5.0, None]
    check = cli(project, "check", "--area", name, now=FRESH_NOW, monkeypatch=monkeypatch)
    assert check.exit_code == 1 and "FAIL  model" in check.output


def test_model_passes_gate_reads_the_holdout_scores():
    def meta(model, **refs):
        scores = {"model": {"brier": model}} | {k: {"brier": v} for k, v in refs.items()}
        return {"evaluation": {"lead_bins": ["0-24", "24-48"], "scores": scores}}

    assert model_passes_gate(meta([0.01, 0.02], climatology=[0.05, 0.05]))
    assert not model_passes_gate(meta([0.01, 0.06], climatology=[0.05, 0.05]))
    assert not model_passes_gate(meta([0.01, float("nan")], climatology=[0.05, 0.05]))
    assert not model_passes_gate(meta([0.01, 0.02], climatology=[0.05, 0.05],
                                      issue_time_baseline=[0.005, 0.03]))
    # the yes/no rules are no reference: beating them is not required
    assert model_passes_gate(meta([0.01, 0.02], climatology=[0.05, 0.05],
                                  best_baseline=[0.005, 0.03]))
    # the references the evaluation names itself are the ones that count
    named = meta([0.01, 0.02], climatology=[0.05, 0.05], issue_time_baseline=[0.005, 0.03])
    named["evaluation"]["references"] = ["climatology"]
    assert model_passes_gate(named)
    assert not model_passes_gate({})  # no evaluation, no evidence


# ------------------------------------------------------------------ strict JSON

def test_strict_json_writes_null_for_nan():
    text = dumps({"a": float("nan"), "b": [1.0, np.float32("inf")], "c": np.int64(3)})
    assert strict_json(text) == {"a": None, "b": [1.0, None], "c": 3}


def test_only_the_late_feed_is_named_and_continued(project, monkeypatch):
    f = _csv(project, "rain")
    f = f[pd.to_datetime(f["time"], utc=True) <= pd.Timestamp("2025-06-08T19:00Z")]
    name = area_variant(project, "rain-late", {"rain": _write(project, f, "rain_late.csv")})
    install_model(project, name)
    r = cli(project, "run", "forecast", "--area", name, now=FRESH_NOW, monkeypatch=monkeypatch)
    assert r.exit_code == 3, r.output
    assert "rain ends 2025-06-08 19:00 UTC, 2 h" in r.output and "sea_level ends" not in r.output
    st = strict_json((project / "var" / name / "forecasts" / "20250608T2100Z" /
                      "status.json").read_text())
    health = {i["name"]: i["status"] for i in st["inputs"]}
    assert health == {"rain": "stale", "sea_level": "fresh", "evaporation": "fresh"}
