"""`wetindex subscribers add|list|remove|export` through the real CLI app."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from wetindex.alerts.crypto import SECRET_KEY_ENV, generate_key
from wetindex.cli import app

runner = CliRunner()


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv(SECRET_KEY_ENV, generate_key())
    monkeypatch.setenv("WETINDEX_DB_URL", f"sqlite:///{tmp_path / 'alerts.db'}")
    return tmp_path


def run(*args: str):
    result = runner.invoke(app, ["subscribers", *args])
    return result.exit_code, result.output


def test_add_list_export_remove(env):
    line = env / "dige.geojson"
    line.write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": {
        "type": "LineString", "coordinates": [[9.60, 57.10], [9.61, 57.10]]}}))
    polygon = env / "pumpe.geojson"
    polygon.write_text(json.dumps({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "EPSG:25832"}},
        "features": [{"type": "Feature", "properties": {}, "geometry": {
            "type": "Polygon", "coordinates": [[[540200, 6330200], [540260, 6330200],
                                                [540260, 6330260], [540200, 6330200]]]}}]}))
    code, out = run("add", "--area", "jammerbugt", "--name", "Digelaget Klitten", "--email",
                    "formand@klitten.dk", "--line", str(line), "--buffer", "25", "--level",
                    "orange", "--within", "24", "--language", "da", "--id", "klitten")
    assert code == 0, out
    assert "added klitten" in out
    code, out = run("add", "--area", "jammerbugt", "--email", "drift@pumpe.dk", "--phone",
                    "+4512345678", "--polygon", str(polygon), "--language", "en")
    assert code == 0, out
    code, out = run("add", "--area", "jammerbugt", "--webhook", "https://hook.example.dk/x",
                    "--point", "540230,6330230", "--radius", "100", "--level", "red")
    assert code == 0, out
    assert "webhook secret" in out and "whsec_" in out

    code, out = run("list")
    assert code == 0
    assert len(out.strip().splitlines()) == 3
    for contact in ("formand@klitten.dk", "drift@pumpe.dk", "+4512345678", "hook.example.dk/x"):
        assert contact not in out
    assert "f***@k***.dk" in out and "orange within 24 h" in out and "red within 48 h" in out

    code, out = run("export", "klitten")
    assert code == 0
    data = json.loads(out)
    assert data["contact"]["email"] == "formand@klitten.dk"
    assert data["shape"]["kind"] == "line" and data["shape"]["buffer_m"] == 25
    assert data["thresholds"]["min_level"] == 2 and data["thresholds"]["max_lead_h"] == 24

    code, out = run("remove", "klitten")
    assert code == 0 and "removed klitten" in out
    code, out = run("remove", "klitten")
    assert code == 2 and "no subscriber with id 'klitten'" in out
    assert len(run("list")[1].strip().splitlines()) == 2


def test_bad_input_gets_one_clear_error(env):
    code, out = run("add", "--area", "a", "--email", "x@y.dk", "--point", "1,2")
    assert code == 2 and "--point needs --radius" in out
    code, out = run("add", "--area", "a", "--email", "x@y.dk", "--point", "1,2", "--radius",
                    "5", "--line", "f.geojson", "--buffer", "3")
    assert code == 2 and "exactly one of" in out
    code, out = run("add", "--area", "a", "--email", "not-an-address", "--point",
                    "540230,6330230", "--radius", "5")
    assert code == 2 and "invalid subscriber: email:" in out
    # the id is part of the one model too: a bad one is one line naming it, nothing stored
    code, out = run("add", "--area", "a", "--email", "x@y.dk", "--point", "540230,6330230",
                    "--radius", "5", "--id", "bad id")
    assert code == 2 and "invalid subscriber: id:" in out and len(out.strip().splitlines()) == 1
    assert run("list")[1].strip() == "no subscribers"
    code, out = run("add", "--area", "a", "--email", "x@y.dk", "--polygon",
                    str(env / "missing.geojson"))
    assert code == 2 and "missing.geojson: file not found" in out
    code, out = run("add", "--area", "a", "--email", "x@y.dk", "--point", "1,2", "--radius",
                    "5", "--level", "purple")
    assert code == 2 and "one of yellow, orange, red" in out


def test_missing_secret_key_is_named(env, monkeypatch):
    monkeypatch.delenv(SECRET_KEY_ENV)
    code, out = run("list")
    assert code == 2 and f"{SECRET_KEY_ENV} is not set" in out
