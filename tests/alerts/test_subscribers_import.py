"""`wetindex subscribers import FILE --area NAME`: the old YAML goes into the area's own
encrypted store (the one its runs read), once; the run does not read the YAML."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from wetindex.alerts.crypto import SECRET_KEY_ENV, generate_key
from wetindex.cli import app

YAML = """
subscribers:
  - id: digelag-klitten
    name: Digelaget Klitten
    email: formand@klitten.example
    kind: dike_association
    min_level: 2
    shape:
      crs: EPSG:25832
      line: [[540100, 6329900], [540300, 6329900]]
      buffer_m: 20
"""


def project(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv(SECRET_KEY_ENV, generate_key())
    monkeypatch.delenv("WETINDEX_DB_URL", raising=False)
    root = tmp_path / "project"
    (root / "pipelines").mkdir(parents=True)
    shutil.copy(Path(__file__).resolve().parents[2] / "pipelines" / "flows.py",
                root / "pipelines" / "flows.py")
    (root / "areas").mkdir()
    (root / "areas" / "kyst.yaml").write_text(
        "name: kyst\ntitle: Kyst\nsource: local\n"
        "grid: {x_min: 540000, y_max: 6330500, nx: 50, ny: 50}\n"
        "inputs: {terrain: t.tif, rain: r.csv, sea_level: s.csv, boundary: b.geojson}\n")
    return root


def test_import_goes_into_the_areas_store_once(tmp_path, monkeypatch):
    root = project(tmp_path, monkeypatch)
    subs = tmp_path / "subs.yaml"
    subs.write_text(YAML)
    runner = CliRunner()
    args = ["subscribers", "import", str(subs), "--area", "kyst", "--root", str(root)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "imported 1 of 1" in first.output
    # the line and its buffer are stored as given (not flattened to a polygon)
    shape = json.loads(runner.invoke(app, ["subscribers", "export", "digelag-klitten", "--area",
                                           "kyst", "--root", str(root)]).output)["shape"]
    assert shape["kind"] == "line" and shape["buffer_m"] == 20
    again = runner.invoke(app, args)
    assert "imported 0 of 1" in again.output
    db = root / "var" / "kyst" / "alerts" / "outbox.sqlite"
    raw = b"".join(p.read_bytes() for p in db.parent.glob("outbox.sqlite*"))  # with the WAL
    assert db.exists() and b"formand@klitten.example" not in raw
    listed = runner.invoke(app, ["subscribers", "list", "--area", "kyst", "--root", str(root)])
    assert "digelag-klitten" in listed.output and "f***@k***.example" in listed.output
    exported = runner.invoke(app, ["subscribers", "export", "digelag-klitten", "--area", "kyst",
                                   "--root", str(root)])
    assert '"kind": "dike_association"' in exported.output
    assert "formand@klitten.example" in exported.output
    removed = runner.invoke(app, ["subscribers", "remove", "digelag-klitten", "--area", "kyst",
                                  "--root", str(root)])
    assert removed.exit_code == 0
    assert "no subscribers" in runner.invoke(
        app, ["subscribers", "list", "--area", "kyst", "--root", str(root)]).output


def test_an_old_file_is_one_error_and_nothing_is_imported(tmp_path, monkeypatch):
    # catches: an old file imported wrong or in part (its shapes under 'area:')
    root = project(tmp_path, monkeypatch)
    old = tmp_path / "old.yaml"
    old.write_text(YAML.replace("subscribers:", "subscriptions:").replace("shape:", "area:"))
    result = CliRunner().invoke(app, ["subscribers", "import", str(old), "--area", "kyst",
                                      "--root", str(root)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "old subscriptions format" in result.output and "'shape:'" in result.output
    assert len([ln for ln in result.output.splitlines() if ln.strip()]) <= 3
    listed = CliRunner().invoke(app, ["subscribers", "list", "--area", "kyst", "--root",
                                      str(root)])
    assert "no subscribers" in listed.output
