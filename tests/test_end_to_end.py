"""The whole chain on a small demo area, as the Prefect flow, under Prefect's harness."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr
from lxml import etree

from wetindex.alerts.cap import validate_cap
from wetindex.cli import _load_flow


@pytest.fixture(scope="module")
def demo_run(prefect_harness, project_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo-run")
    flow = _load_flow(project_root, "demo_flow")
    result = flow(root=str(project_root), output_root=str(out), size_m=2000.0, years=1.5, seed=7)
    return result, out


def test_forecast_cube_is_consistent(demo_run):
    result, _ = demo_run
    ds = xr.open_dataset(result.forecast / "forecast.nc")
    prob, level = ds["probability"].values, ds["level"].values
    assert prob.shape[0] == 48 and ds["lead"].values.tolist() == list(range(1, 49))
    assert np.nanmin(prob) >= 0 and np.nanmax(prob) <= 1
    thresholds = json.loads(ds.attrs["thresholds"])
    # levels come from the exposure-weighted excess water, never above the raw wetness
    score = ds["warning_score"].values
    # 8-bit codes (steps of 0.005): each field is rounded on its own, to half a step
    half = 0.0025 + 1e-6
    assert (score <= prob + 2 * half).all()
    # levels come from the full-precision score: the stored score is within half a step
    expected = ((score >= thresholds["yellow"]).astype(int) + (score >= thresholds["orange"])
                + (score >= thresholds["red"]))
    exact = np.ones(score.shape, bool)
    for t in thresholds.values():
        exact &= np.abs(score - t) > half
    np.testing.assert_array_equal(level[exact], expected[exact])
    tifs = sorted((result.forecast / "geotiff").glob("*.tif"))
    assert [t.name for t in tifs] == ["probability.tif", "warning_score.tif"]
    with rasterio.open(tifs[0]) as src:
        assert src.crs.to_epsg() == 25832 and src.count == 48
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        band = src.read(1)
    np.testing.assert_allclose(band * 0.005, prob[0], atol=half)


def test_model_beats_climatology_on_the_holdout(demo_run):
    result, _ = demo_run
    meta = json.loads((result.model / "metadata.json").read_text())
    bss = meta["evaluation"]["scores"]["model"]["brier_skill"]
    assert meta["evaluation"]["n_wet"] > 0
    assert all(s > 0 for s in bss), f"Brier skill score per lead bin: {bss}"
    assert (result.model / "model.txt").exists() and (result.model / "model_card.md").exists()


def test_site_and_feed_are_published(demo_run):
    result, _ = demo_run
    current = result.site / "current"
    assert current.is_symlink()
    assert (current / "index.html").exists() and (current / "en" / "index.html").exists()
    atom = etree.parse(str(result.feed / "atom.xml"))
    assert atom.getroot().tag.endswith("feed")
    for cap in (result.feed / "cap").glob("*.xml"):
        validate_cap(cap.read_bytes())


def test_alerts_went_through_the_outbox(demo_run):
    result, _ = demo_run
    alerts = result.alerts
    assert alerts.outbox.exists()
    assert alerts.failed == 0 and alerts.pending == 0
    mails = sorted(Path(alerts.mail_dir).glob("*.eml")) if Path(alerts.mail_dir).exists() else []
    assert len(mails) == alerts.sent
