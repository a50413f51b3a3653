"""`wetindex labels build` end to end on loopback: recorded STAC pages, redirecting
downloads of a Sentinel-1 SAFE and a Sentinel-2 granule made in code, the label store
written where training reads it."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from satellite_fixtures import make_s1_grd_safe, make_s2_l2a_granule
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sources"))
from loopback import LoopbackServer

from wetindex.cli import app
from wetindex.grid import AreaGrid
from wetindex.model.label_build import SceneChoice, choose_scenes
from wetindex.model.label_store import LabelStore, with_label_store
from wetindex.model.labels import DRY, UNKNOWN, WET
from wetindex.sources import copernicus_stac

REPO = Path(__file__).resolve().parents[2]
RECORDED = REPO / "tests" / "sources" / "recorded" / "copernicus_stac_area_scenes.json"
# 600 m × 600 m over the SAFE's middle; water west of x = 500 000 (S1 and S2 agree)
GRID = dict(crs="EPSG:25832", cell_size=20.0, x_min=499_700.0, y_max=6_300_500.0, nx=30, ny=30)


def cdse(products: dict[str, Path]) -> dict:
    """Routes of a fake CDSE: token, STAC search, node downloads redirected to storage."""
    pages = json.loads(RECORDED.read_text())

    def search(handler):
        body = json.loads(handler.last_body)
        return 200, {"content-type": "application/geo+json"}, json.dumps(
            pages[body["collections"][0]]).encode()

    def token(handler):
        return 200, {"content-type": "application/json"}, b'{"access_token": "AT-b", ' \
            b'"expires_in": 600}'

    def node(handler):
        m = re.match(r"/odata/v1/Products\(([^)]+)\)/(.*)/\$value", handler.path)
        if m is None or m.group(1) not in products:
            return 404, {}, b'{"detail": "product not found"}'
        parts = re.findall(r"Nodes\(([^)]+)\)", m.group(2))
        return 302, {"Location": f"/storage/{m.group(1)}/" + "/".join(parts[1:])}, b""

    def storage(handler):
        _, _, uuid, rel = handler.path.split("/", 3)
        path = products[uuid] / rel
        if not path.exists():
            return 404, {}, b"no such key"
        return 200, {"content-type": "application/octet-stream"}, path.resolve().read_bytes()

    return {"search": search, "token": token, "node": node, "storage": storage}


class Routes(dict):
    """Route by path prefix (the OData paths carry the product and node names)."""

    def __init__(self, r):
        super().__init__()
        self.r = r

    def get(self, path, default=None):
        if path == "/v1/search":
            return self.r["search"]
        if path == "/token":
            return self.r["token"]
        if path.startswith("/odata/"):
            return self.r["node"]
        if path.startswith("/storage/"):
            return self.r["storage"]
        return default


@pytest.fixture
def project(tmp_path):
    project = tmp_path / "project"
    (project / "areas").mkdir(parents=True)
    (project / "pipelines").symlink_to(REPO / "pipelines")
    (project / "areas" / "vand.yaml").write_text(
        "name: vand\ntitle: Vand (test)\ndemo: {}\ngrid: " + json.dumps(GRID) + "\n")
    return project


def test_labels_build_from_recorded_stac_and_redirecting_downloads(project, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setenv("CDSE_USERNAME", "user@example.org")
    monkeypatch.setenv("CDSE_PASSWORD", "pw")
    s1 = make_s1_grd_safe(tmp_path / "s1")
    s2 = make_s2_l2a_granule(tmp_path / "s2", west=499_600.0, water_cols=40)  # water x < 500 000
    routes = Routes(cdse({"5b2f0c1e-s1-good": s1, "7c1d-s2-good": s2}))
    with LoopbackServer(routes) as server:
        catalog = (REPO / "data_sources" / "copernicus_stac.yaml").read_text()
        catalog = catalog.replace("https://stac.dataspace.copernicus.eu", server.url()) \
            .replace("https://identity.dataspace.copernicus.eu/auth/realms/CDSE/protocol/"
                     "openid-connect/token", server.url("/token")) \
            .replace("https://download.dataspace.copernicus.eu/odata/v1",
                     server.url("/odata/v1"))
        (project / "data_sources").mkdir()
        (project / "data_sources" / "copernicus_stac.yaml").write_text(catalog)
        result = CliRunner().invoke(app, [
            "labels", "build", "--area", "vand", "--start", "2024-11-01", "--end", "2024-11-30",
            "--root", str(project)])
        tokens = [s for s in server.seen if s["path"] == "/token"]
        downloads = [s for s in server.seen if s["path"].startswith("/storage/")]
    assert result.exit_code == 0, result.output
    out = result.output
    assert "skipped S1A_IW_GRDH_1SDV_20241108T054530" in out and "orbit not ascending" in out
    assert "skipped S2A_MSIL2A_20241105T104211" in out and "cloud cover > 30 %" in out
    assert "skipped S1A_IW_GRDH_1SDV_20241114T170115" in out and "HTTP 404" in out
    assert len(tokens) == 1
    assert all(d["headers"].get("Authorization") == "Bearer AT-b" for d in downloads)
    # only the files a label needs: VV annotation/calibration/noise/measurement + manifest;
    # the L2A metadata, B03, B11, SCL + manifest
    assert len(downloads) == 5 + 5
    store = LabelStore.load(project / "var" / "vand" / "labels")
    assert [m.source for m in store.maps] == ["sentinel1", "sentinel2"]
    grid = AreaGrid(**GRID)
    truth = np.broadcast_to(grid.x[None, :] < 500_000, grid.shape)
    for m in store.maps:
        seen = np.isin(m.values, (WET, DRY))
        tp = ((m.values == WET) & truth).sum()
        fp = ((m.values == WET) & ~truth).sum()
        fn = ((m.values == DRY) & truth).sum()
        assert tp / (tp + fp + fn) > 0.9, m.detail
        assert seen.mean() > 0.5 and (m.values == UNKNOWN).any()
    assert store.maps[0].start == pd.Timestamp("2024-11-02T17:01:15.123456")


def test_training_reads_the_store_through_the_area_inputs(tmp_path):
    grid = AreaGrid(**GRID)

    class Inputs:  # the AreaInputs surface the wrapper touches
        def __init__(self):
            self.grid = grid

        def labels(self, times, cells):
            return np.zeros((len(times), len(cells)), "int8")  # its own file says dry

        def digests(self):
            return {"terrain": "abc"}

    inputs = Inputs()
    assert with_label_store(inputs, tmp_path) is inputs          # no store: unchanged
    store = LabelStore(grid)
    from wetindex.model.labels import LabelMap

    v = np.full(grid.shape, UNKNOWN, "int8")
    v[0, :3] = WET
    t = pd.Timestamp("2024-11-02T17:00")
    store.add(LabelMap(v, t, t, "sentinel1", 0.85, "S1A"))
    store.save(tmp_path / "labels")
    wrapped = with_label_store(inputs, tmp_path)
    lab = wrapped.labels(np.array([t.to_datetime64()]), np.array([0, 1, 5]))
    assert lab.tolist() == [[WET, WET, DRY]]     # the store wins; the file fills its gaps
    assert "label_store" in wrapped.digests() and wrapped.digests()["terrain"] == "abc"


def test_scene_choice_keeps_one_orbit_and_clear_scenes():
    pages = json.loads(RECORDED.read_text())
    frame = copernicus_stac.items_frame(
        pages["sentinel-1-grd"]["features"] + pages["sentinel-2-l2a"]["features"],
        source="s", request="r")
    choice = SceneChoice(orbit_state="descending", polarisation="VH")
    kept = choose_scenes(frame, choice)
    assert list(kept["id"].str[:25]) == ["S2B_MSIL2A_20241103T10314",   # by time
                                         "S1A_IW_GRDH_1SDV_20241108"]
    assert set(choice.dropped.values()) >= {"no VH", "cloud cover > 30 %"}
