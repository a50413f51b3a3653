"""Gridded drivers: the chunk evaluator gives booster.predict's probabilities.

Random small boosters are trained here (each well under 2 s) with categorical land
cover, NaNs in static and driver features, and labels that depend on static,
driver and combined features, so every kind of split occurs. The reference is
``booster.predict`` on the full feature rows built by ``feature_rows`` with each
cell's own drivers.
"""

from __future__ import annotations

import pickle

import lightgbm as lgb
import numpy as np
import pytest

from wetindex.features.stack import DRIVER_FEATURES, FEATURES, STATIC_FEATURES, feature_rows
from wetindex.model import chunkcode, gridded
from wetindex.model.forest import forest_from_booster
from wetindex.model.gridded import (
    ChunkEvaluator,
    as_zones,
    merge_zones,
    predict_rows_naive,
)
from wetindex.model.treecode import CACHE_ENV, CompilerError

N_STATIC, N_DRIVER = len(STATIC_FEATURES), len(DRIVER_FEATURES)
LAND_COVER = STATIC_FEATURES.index("land_cover")
FILL = STATIC_FEATURES.index("bluespot_fill_rain")
RAIN24 = DRIVER_FEATURES.index("rain_24h")
SEA = DRIVER_FEATURES.index("sea_level")
LEAD = DRIVER_FEATURES.index("lead_hours")


def _static(rng: np.random.Generator, n: int) -> np.ndarray:
    s = rng.normal(0, 2, (n, N_STATIC)).astype("float32")
    s[:, FILL] = np.where(rng.random(n) < 0.4, 0.0, rng.gamma(2.0, 20.0, n))
    s[rng.random((n, N_STATIC)) < 0.05] = np.nan
    s[:, LAND_COVER] = rng.integers(0, 8, n)
    return s


def _zone_drivers(rng: np.random.Generator, n_zones: int, n_leads: int) -> np.ndarray:
    d = rng.normal(0, 3, (n_zones, n_leads, N_DRIVER)).astype("float32")
    d[..., RAIN24] = rng.gamma(0.5, 8.0, (n_zones, n_leads))
    d[..., LEAD] = np.arange(1, n_leads + 1)
    d[rng.random(d.shape) < 0.03] = np.nan
    d[..., LEAD] = np.arange(1, n_leads + 1)
    return d


def _booster(seed: int, num_leaves: int, rounds: int, categorical: bool) -> lgb.Booster:
    rng = np.random.default_rng(seed)
    n = 1500
    static = _static(rng, n)
    zd = _zone_drivers(rng, 5, 6)
    zone = rng.integers(0, 5, n)
    gw = np.abs(rng.normal(1, 1, n)).astype("float32")
    gw[rng.random(n) < 0.05] = np.nan
    x = np.concatenate([feature_rows(static, zd[zone, li], gw) for li in range(6)])
    score = (np.nan_to_num(x[:, FEATURES.index("sea_margin")])
             + 0.3 * np.nan_to_num(x[:, FEATURES.index("rain_24h")])
             - np.nan_to_num(x[:, FEATURES.index("groundwater_depth")])
             + (x[:, LAND_COVER] == 2)
             + 0.2 * np.nan_to_num(x[:, FEATURES.index("rain_24h_fill_ratio")])
             + 0.5 * np.nan_to_num(x[:, 0]))
    y = (score + rng.normal(0, 1, len(score)) > 0.5).astype(int)
    data = lgb.Dataset(x, y, feature_name=list(FEATURES),
                       categorical_feature=[LAND_COVER] if categorical else "auto")
    params = {"objective": "binary", "num_leaves": num_leaves, "min_data_in_leaf": 5,
              "verbose": -1, "learning_rate": 0.2, "num_threads": 1, "seed": seed}
    return lgb.train(params, data, num_boost_round=rounds)


@pytest.fixture(scope="module", params=[(1, 31, 25, True), (2, 7, 40, False),
                                        (3, 63, 12, True)],
                ids=["31-leaves-cat", "7-leaves", "63-leaves-cat"])
def booster(request) -> lgb.Booster:
    return _booster(*request.param)


def _chunk(seed: int, n: int, n_zones: int, n_leads: int):
    rng = np.random.default_rng(seed)
    static = _static(rng, n)
    zd = _zone_drivers(rng, n_zones, n_leads)
    # leads 3 and 4 repeat lead 2's drivers (4 with its own lead hour): the reuse path
    zd[:, 3] = zd[:, 2]
    zd[:, 4] = zd[:, 2]
    zd[:, 4, LEAD] = 5
    zone = rng.integers(0, n_zones, n).astype("int32")
    gw = np.abs(rng.normal(1, 1, n)).astype("float32")
    gw[rng.random(n) < 0.03] = np.nan
    return static, gw, zd, zone


def test_zoned_drivers_equal_booster_predict(booster, monkeypatch):
    monkeypatch.setattr(gridded, "CHUNK_CELLS", 700)  # several kernel calls, a partial last
    static, gw, zd, zone = _chunk(11, 2500, 9, 8)
    got = ChunkEvaluator(booster).predict_chunk(static, gw, zd, zone)
    assert got.shape == (8, 2500) and got.dtype == np.float32
    for li in range(8):
        expected = booster.predict(feature_rows(static, zd[zone, li], gw))
        np.testing.assert_allclose(got[li], expected, rtol=0, atol=1e-6)
    # the zones matter: a model using the drivers gives zones different probabilities
    assert np.ptp([got[:, zone == z].mean() for z in range(9)]) > 1e-3


def test_the_three_driver_forms_and_the_naive_path_agree(booster):
    static, gw, zd, zone = _chunk(12, 1200, 4, 6)
    ev = ChunkEvaluator(booster)
    zoned = ev.predict_chunk(static, gw, zd, zone)
    per_cell = ev.predict_chunk(static, gw, zd[zone].transpose(1, 0, 2))  # (lead, cell, D)
    naive = predict_rows_naive(booster, static, gw, zd, zone)
    np.testing.assert_array_equal(zoned, per_cell)
    np.testing.assert_allclose(zoned, naive, rtol=0, atol=1e-6)
    # area-uniform drivers are the one-zone case
    uniform = ev.predict_chunk(static, gw, zd[1])
    np.testing.assert_array_equal(uniform, ev.predict_chunk(static, gw, zd[1:2],
                                                            np.zeros(1200, "int32")))
    np.testing.assert_array_equal(uniform[:, zone == 1], zoned[:, zone == 1])


def test_missing_values_take_lightgbm_s_side():
    """NaN everywhere a value can be missing: static, drivers, groundwater, fill."""
    b = _booster(4, 31, 20, True)
    static, gw, zd, zone = _chunk(13, 800, 3, 6)
    static[::3] = np.nan
    static[::3, LAND_COVER] = np.nan  # a NaN category goes right
    static[1::7, LAND_COVER] = -0.5  # truncates to category 0, as LightGBM's int cast
    zd[1] = np.nan  # a zone whose drivers are all unknown
    gw[::2] = np.nan
    got = ChunkEvaluator(b).predict_chunk(static, gw, zd, zone)
    np.testing.assert_allclose(got, predict_rows_naive(b, static, gw, zd, zone), atol=1e-6)


def test_merge_zones_pairs_each_cells_zones():
    rain = np.array([0, 0, 1, 1, 2])
    sea = np.array([5, 6, 5, 5, 6])
    merged, pairs = merge_zones(rain, sea)
    np.testing.assert_array_equal(pairs[merged], np.stack([rain, sea], 1))
    assert len(pairs) == 4


def test_bad_driver_shapes_name_the_input():
    _, _, zd, zone = _chunk(14, 10, 2, 5)
    with pytest.raises(ValueError, match="zone_of_cell"):
        as_zones(zd, np.full(10, 2), 10)
    with pytest.raises(ValueError, match="drivers"):
        as_zones(zd[..., :5], zone, 10)


def test_compiled_kernel_equals_booster_predict_in_float32(booster):
    """The C kernel adds the trees in LightGBM's order: equal, not only close."""
    static, gw, zd, zone = _chunk(15, 1500, 5, 7)
    ev = ChunkEvaluator(booster, engine="c")
    assert ev.engine == "c"
    got = ev.predict_chunk(static, gw, zd, zone, num_threads=2)
    expected = predict_rows_naive(booster, static, gw, zd, zone)
    np.testing.assert_array_equal(got, expected)
    assert ev.predict_chunk(static[:0], gw[:0], zd, zone[:0]).shape == (7, 0)  # empty chunk
    # the numba kernel (the fallback) agrees to its float32 rounding
    old = ChunkEvaluator(booster, engine="numba").predict_chunk(static, gw, zd, zone)
    np.testing.assert_allclose(got, old, rtol=0, atol=1e-6)
    # a Dask worker receives the evaluator pickled: the library is rebuilt from the forest
    copy = pickle.loads(pickle.dumps(ev))
    assert copy.engine == "c"
    np.testing.assert_array_equal(copy.predict_chunk(static, gw, zd, zone), expected)


def test_compiled_kernel_takes_zero_as_missing_splits_and_many_leads():
    """Zero-as-missing splits on combined features (the numba kernel refuses them) and
    more leads than one block of the kernel."""
    rng = np.random.default_rng(21)
    static, gw, zd, zone = _chunk(16, 600, 3, 70)
    zd[:, ::4, DRIVER_FEATURES.index("groundwater_rise")] = 5.0  # depth clipped to zero
    x = np.concatenate([feature_rows(static, zd[zone, li], gw) for li in range(0, 70, 5)])
    y = (np.nan_to_num(x[:, FEATURES.index("groundwater_depth")]) < 0.5
         + rng.normal(0, 0.3, len(x))).astype(int)
    b = lgb.train({"objective": "binary", "num_leaves": 15, "verbose": -1,
                   "zero_as_missing": True, "min_data_in_leaf": 5, "num_threads": 1},
                  lgb.Dataset(x, y, feature_name=list(FEATURES)), num_boost_round=15)
    assert "groundwater_depth" in {FEATURES[f] for f in _split_features(b)}
    got = ChunkEvaluator(b, engine="c").predict_chunk(static, gw, zd, zone)
    assert got.shape == (70, 600)
    np.testing.assert_array_equal(got, predict_rows_naive(b, static, gw, zd, zone))


def _split_features(b: lgb.Booster) -> set[int]:
    text = b.model_to_string()
    return {int(f) for line in text.splitlines() if line.startswith("split_feature=")
            for f in line.split("=", 1)[1].split()}


def test_without_a_c_compiler_the_numba_kernel_runs(booster, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))  # nothing cached
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    static, gw, zd, zone = _chunk(17, 300, 2, 5)
    with pytest.raises(CompilerError):
        ChunkEvaluator(booster, engine="c")
    monkeypatch.setattr(gridded, "_LOGGED", set())
    with caplog.at_level("INFO", logger="wetindex.model.gridded"):
        ev = ChunkEvaluator(booster)
    assert ev.engine == "numba"
    assert "numba kernel, the C kernel could not be built" in caplog.text
    np.testing.assert_allclose(ev.predict_chunk(static, gw, zd, zone),
                               predict_rows_naive(booster, static, gw, zd, zone), atol=1e-6)


def test_plain_avx2_and_avx512_loops_agree():
    """The kernel's loops over leads (AVX-512 or AVX2 intrinsics where the compiler
    targets them, plain C elsewhere) all equal booster.predict in float32; trees of 16
    leaves (the fixtures' 7, 31 and 63 leaves run in the other tests)."""
    booster = _booster(5, 15, 8, False)
    ev = ChunkEvaluator(booster, engine="c")
    assert "_mm512_lzcnt_epi64" in chunkcode.kernel_source(ev.forest)
    static, gw, zd, zone = _chunk(18, 900, 4, 13)  # 13 leads: a padded block of 8
    zdrivers, zc = as_zones(zd, zone, len(static))
    expected = predict_rows_naive(booster, static, gw, zd, zone)
    for flags in {chunkcode.PORTABLE_FLAGS, chunkcode.AVX2_FLAGS, chunkcode.kernel_flags()}:
        if flags == chunkcode.AVX2_FLAGS and "avx2" not in chunkcode._cpu():
            continue
        out = np.empty((13, 900), "float32")
        chunkcode.compile_kernel(ev.forest, flags).predict(static, gw, zdrivers, zc, out, 1)
        np.testing.assert_array_equal(out, expected)


def test_predict_cube_runs_the_c_kernel_and_falls_back_to_numba(booster, tmp_path,
                                                                 monkeypatch):
    """The area-cube entry point (predict.py, zones.py, events.py use it)."""
    static, gw, zd, zone = _chunk(19, 700, 3, 6)
    forest = forest_from_booster(booster)
    cells = np.random.default_rng(0).permutation(1000)[:700]  # scattered into a cube
    expected = np.zeros((6, 1000), "float32")
    expected[:, cells] = predict_rows_naive(booster, static, gw, zd, zone)
    monkeypatch.setattr(gridded, "CHUNK_CELLS", 300)  # several chunks, a partial last
    got = gridded.predict_cube(forest, static, gw, zd, cells, np.zeros((6, 1000), "float32"),
                               zone_of_cell=zone)
    assert gridded.evaluator_for(forest).engine == "c"
    np.testing.assert_array_equal(got, expected)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    other = forest_from_booster(booster)  # a new Forest: compiled anew, fails
    old = gridded.predict_cube(other, static, gw, zd, cells, np.zeros((6, 1000), "float32"),
                               zone_of_cell=zone)
    assert gridded.evaluator_for(other).engine == "numba"
    np.testing.assert_allclose(old, expected, rtol=0, atol=1e-6)
