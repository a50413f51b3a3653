"""Sentinel-2 L2A granule → reflectance on the area grid → water mask with SCL clouds unknown."""

from __future__ import annotations

import numpy as np
import pytest
from satellite_fixtures import make_s2_l2a_granule

from wetindex.grid import AreaGrid
from wetindex.model.label_build import sentinel2_label
from wetindex.model.labels import DRY, UNKNOWN, WET, LabelInputError
from wetindex.sources.sentinel2_l2a import read_l2a

# 1 km × 1 km at 20 m in UTM 32N (the granule's EPSG:32632 is the same projection)
GRID = AreaGrid("EPSG:25832", 20.0, 500_000.0, 6_300_600.0, 50, 50)


def test_offsets_are_removed_and_the_20m_band_resampled(tmp_path):
    scene = read_l2a(make_s2_l2a_granule(tmp_path), GRID)
    assert np.nanmedian(scene.green) == pytest.approx(0.05, abs=1e-3)   # (1500 − 1000) / 1e4
    assert scene.swir1[0, 30] == pytest.approx(0.20, abs=1e-3)
    assert scene.swir1[0, 2] == pytest.approx(0.01, abs=1e-3)
    assert scene.baseline == "05.10" and str(scene.start) == "2024-11-03 10:31:49.024000"
    old = read_l2a(make_s2_l2a_granule(tmp_path / "old", baseline="03.01", offset=0), GRID)
    np.testing.assert_allclose(old.green, scene.green, atol=1e-4)       # no offset before 04.00


def test_known_water_and_clouds_unknown(tmp_path):
    label = sentinel2_label(make_s2_l2a_granule(tmp_path), GRID)
    v = label.values
    # water: the western 200 m (columns 0–9 at 20 m); a cloud band in rows 20–24
    assert (v[20:25] == UNKNOWN).all()
    clear = np.ones(GRID.shape, bool)
    clear[20:25] = False
    edge = np.zeros(GRID.shape, bool)
    edge[:, 9:11] = True                                  # bilinear mixing at the shore
    assert (v[clear & ~edge][:, None] != UNKNOWN).all()
    truth = np.broadcast_to(np.arange(GRID.nx)[None, :] < 10, GRID.shape)
    ok = clear & ~edge
    assert (v[ok & truth] == WET).all() and (v[ok & ~truth] == DRY).all()
    assert label.source == "sentinel2"


def test_no_scl_is_refused_and_a_wrong_offset_is_named(tmp_path):
    with pytest.raises(LabelInputError, match="no SCL band and no other cloud mask"):
        sentinel2_label(make_s2_l2a_granule(tmp_path / "a", with_scl=False), GRID)
    masked = sentinel2_label(make_s2_l2a_granule(tmp_path / "b", with_scl=False), GRID,
                             cloud_mask=np.zeros(GRID.shape, bool))
    assert (masked.values == WET).any()
    # DN written without the +1000 but the metadata says −1000: negative "reflectance"
    bad = make_s2_l2a_granule(tmp_path / "c", offset=-1000)
    (bad / "MTD_MSIL2A.xml").write_text((bad / "MTD_MSIL2A.xml").read_text().replace(
        ">-1000<", ">-3000<"))
    with pytest.raises(LabelInputError, match="not a reflectance"):
        read_l2a(bad, GRID)
    far = AreaGrid("EPSG:25832", 20.0, 600_000.0, 6_400_000.0, 10, 10)
    with pytest.raises(LabelInputError, match="does not cover the area"):
        read_l2a(make_s2_l2a_granule(tmp_path / "d"), far)
