"""Sentinel-1 GRD SAFE → σ⁰ on the area grid → water mask, on a SAFE folder made in code."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from satellite_fixtures import make_s1_grd_safe

from wetindex.grid import AreaGrid
from wetindex.model.labels import DRY, UNKNOWN, WET, LabelInputError, sentinel1_water
from wetindex.sources import sentinel1_safe
from wetindex.sources.sentinel1_safe import read_sigma0

# a 600 m × 600 m area in the middle of the scene; water west of x = 500 000
GRID = AreaGrid("EPSG:25832", 10.0, 499_700.0, 6_300_500.0, 60, 60)


def water_truth(grid: AreaGrid, water_x: float = 500_000.0) -> np.ndarray:
    return np.broadcast_to(grid.x[None, :] < water_x, grid.shape)


def scores(mask: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    seen = mask != UNKNOWN
    tp = ((mask == WET) & truth & seen).sum()
    fp = ((mask == WET) & ~truth & seen).sum()
    fn = ((mask == DRY) & truth & seen).sum()
    return {"iou": tp / (tp + fp + fn), "precision": tp / (tp + fp), "recall": tp / (tp + fn),
            "unknown": 1 - seen.mean()}


def test_safe_to_sigma0_on_the_grid_is_calibrated_and_denoised(tmp_path):
    safe = make_s1_grd_safe(tmp_path)
    scene = read_sigma0(safe, GRID, "VV")
    truth = water_truth(GRID)
    db = scene.sigma0_db
    inner_land = ~truth & (GRID.x[None, :] > 500_050)
    inner_water = truth & (GRID.x[None, :] < 499_950)
    # cell averages of ~4-look speckle: the calibrated means come back within ~1 dB
    assert np.median(db[inner_land]) == pytest.approx(-8.0, abs=1.0)
    assert np.median(db[inner_water]) == pytest.approx(-23.0, abs=0.8)  # noise removed
    assert scene.pass_direction == "ascending" and scene.polarisation == "VV"
    assert scene.look_azimuth_deg == pytest.approx(78.0)  # heading −12° + 90° (right-looking)
    assert 30 < scene.incidence_deg < 45
    assert str(scene.start) == "2024-11-02 17:01:15.123456"


def test_a_known_water_scene_gives_the_known_mask(tmp_path):
    scene = read_sigma0(make_s1_grd_safe(tmp_path), GRID, "VV")
    mask, facts = sentinel1_water(scene.sigma0_db)
    s = scores(mask, water_truth(GRID))
    assert facts["fallback"] == 0
    assert s["iou"] > 0.95 and s["precision"] > 0.97 and s["recall"] > 0.97
    assert s["unknown"] < 0.15                     # the edge band and doubtful cells
    # the edge band is unknown: the column at the shoreline is never a confident label
    shore = np.argmin(np.abs(GRID.x - 500_000))
    assert (mask[:, shore - 1:shore + 1] == UNKNOWN).mean() > 0.8


def test_only_the_area_window_is_read(tmp_path):
    safe = make_s1_grd_safe(tmp_path, lines=400, pixels=400)
    with rasterio.open(next((safe / "measurement").glob("*.tiff"))) as src:
        win = sentinel1_safe._area_window(src.gcps[0], GRID, src.width, src.height, safe)
    assert win.width * win.height < 0.25 * 400 * 400
    far = AreaGrid("EPSG:25832", 10.0, 520_000.0, 6_330_000.0, 20, 20)
    with pytest.raises(LabelInputError, match="does not cover the area"):
        read_sigma0(safe, far)


def test_wrong_units_and_missing_polarisation_are_one_clear_error(tmp_path):
    safe = make_s1_grd_safe(tmp_path)
    scene = read_sigma0(safe, GRID)
    linear = 10 ** (scene.sigma0_db / 10)
    with pytest.raises(LabelInputError, match="linear σ⁰, not dB"):
        sentinel1_water(linear)
    with pytest.raises(LabelInputError, match="raw digital numbers"):
        sentinel1_water(np.full(GRID.shape, 180.0))
    with pytest.raises(LabelInputError, match=r"no VH measurement .*\['VV'\]"):
        read_sigma0(safe, GRID, "VH")
    with pytest.raises(LabelInputError, match=r"no manifest\.safe"):
        read_sigma0(tmp_path, GRID)


def test_shadow_and_layover_use_the_scenes_look_direction(tmp_path):
    from wetindex.model.label_build import sentinel1_label

    safe = make_s1_grd_safe(tmp_path)
    elevation = np.zeros(GRID.shape)
    # rows 0–19: a slope falling 60 m per 10 m cell to the east; the ascending pass looks
    # east (78°) and at 30–45° incidence the slope facing away is in radar shadow
    elevation[:20] = -6.0 * GRID.x[None, :]
    label = sentinel1_label(safe, GRID, elevation=elevation)
    assert (label.values[2:18] == UNKNOWN).all()
    assert (label.values[25:] != UNKNOWN).mean() > 0.85
    assert "ascending look 78°" in label.detail    # the geometry shadow/layover are cast with


def test_noise_of_older_products_without_azimuth_vectors(tmp_path):
    """IPF < 2.9 noise annotation: ``noiseVectorList/noiseVector/noiseLut``, range only."""
    old = tmp_path / "noise-old.xml"
    old.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<noise><noiseVectorList count="2">'
        "<noiseVector><azimuthTime>2017-01-01T00:00:00</azimuthTime><line>0</line>"
        '<pixel count="2">0 100</pixel><noiseLut count="2">10.0 30.0</noiseLut></noiseVector>'
        "<noiseVector><azimuthTime>2017-01-01T00:00:01</azimuthTime><line>100</line>"
        '<pixel count="2">0 100</pixel><noiseLut count="2">20.0 40.0</noiseLut></noiseVector>'
        "</noiseVectorList></noise>\n")
    n = sentinel1_safe.noise_power(old, np.array([0.0, 50.0, 100.0]), np.array([0.0, 50.0]))
    np.testing.assert_allclose(n, [[10, 20], [15, 25], [20, 30]])
