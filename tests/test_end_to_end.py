"""The whole chain on a small demo area, as the Prefect flow, under Prefect's harness
(the run is the session's ``demo_run`` of ``conftest.py``, which test_evaluate_demo
re-evaluates too)."""

from __future__ import annotations

import json
from email import policy
from email.parser import BytesParser
from pathlib import Path

import numpy as np
import rasterio
import xarray as xr
from lxml import etree

from wetindex.alerts.cap import validate_cap
from wetindex.forecast_io import open_forecast


def test_forecast_cube_is_consistent(demo_run):
    result, _ = demo_run
    ds = open_forecast(result.forecast)  # levels in forecast.nc, fractions in the GeoTIFFs
    prob, level = ds["probability"].values, ds["level"].values
    assert prob.shape[0] == 48 and ds["lead"].values.tolist() == list(range(1, 49))
    assert np.nanmin(prob) >= 0 and np.nanmax(prob) <= 1
    thresholds = json.loads(ds.attrs["thresholds"])
    chance = json.loads(ds.attrs["warning_chance"])
    score = ds["warning_score"].values
    # 8-bit codes (steps of 0.005): each field is rounded on its own, to half a step
    half = 0.0025 + 1e-6
    # a level needs its chance of new water, and new water is at most all the water: a
    # cell at a level or above is at least as wet as the least of those levels' chances
    names = ["yellow", "orange", "red"]
    for lv in (1, 2, 3):
        least = min(chance[n] for n in names[lv - 1:])
        assert (prob[level >= lv] >= least - half).all(), names[lv - 1]
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
        assert src.profile["tiled"] and src.compression.name == "deflate"  # our streamed COG
        band = src.read(1)
    np.testing.assert_allclose(band * 0.005, prob[0], atol=half)


def _beats_climatology_and_never_wet(scores: dict) -> bool:
    """Skill over the monthly per-cell climatology AND over a forecast of no water at
    all, in every lead bin, and some ranking of wet over dry cells."""
    return (all(s > 0 for s in scores["brier_skill"])
            and all(s > 0 for s in scores["bss_never_wet"])
            and min(scores["roc_auc"]) > 0.6)


def test_model_beats_climatology_on_the_holdout(demo_run):
    result, _ = demo_run
    meta = json.loads((result.model / "metadata.json").read_text())
    scores = meta["evaluation"]["scores"]
    assert meta["evaluation"]["n_wet"] > 0
    assert _beats_climatology_and_never_wet(scores["model"]), {
        k: scores["model"][k] for k in ("brier_skill", "bss_never_wet", "roc_auc")}
    # an all-zero forecast beats the climatology in Brier skill on a dry hold-out (it
    # did on the demo): the same check refuses it
    assert not _beats_climatology_and_never_wet(scores["never_wet"])
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
    # the storm is warned: a chain that sends nothing fails here (0 == 0 passed before)
    assert alerts.sent >= 1 and alerts.decisions >= alerts.sent
    assert len(mails) == alerts.sent
    levels = ("Gul", "Orange", "Rød", "Yellow", "Red")
    with xr.open_dataset(result.forecast / "forecast.nc") as ds:
        warned = int(ds["level"].max())
    assert warned >= 1  # a mail only for a forecast that warns
    for path in mails:
        mail = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        assert "@" in mail["To"] and mail["List-Unsubscribe"], path.name
        assert any(word in mail["Subject"] for word in levels), mail["Subject"]
        text = mail.get_body(("plain",)).get_content()
        # the risk said as the chance of water set against its harm
        assert "chancen for vand" in text or "chance of water" in text, text[:300]
