"""The generated-C per-row evaluator gives booster.predict's probabilities exactly."""

from __future__ import annotations

import shutil

import lightgbm as lgb
import numpy as np
import pytest

from wetindex.model.treecode import CACHE_ENV, CompilerError, compile_rows, model_source

pytestmark = pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                                reason="no C compiler")


def _data(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.normal(0, 1, (n, 8)).astype("float32")
    x[:, 2] = rng.integers(0, 12, n)  # a category
    x[rng.random(n) < 0.3, 3] = 0.0  # zeros: missing where zero_as_missing
    x[rng.random((n, 8)) < 0.06] = np.nan
    return x


@pytest.mark.parametrize("params", [
    {"num_leaves": 31},
    {"num_leaves": 15, "zero_as_missing": True},
    {"num_leaves": 63, "use_missing": False},
], ids=["nan-missing", "zero-as-missing", "no-missing"])
def test_compiled_rows_equal_booster_predict(params, tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    rng = np.random.default_rng(5)
    x = _data(rng, 2000)
    score = np.nan_to_num(x[:, 0]) + (x[:, 2] % 3 == 1) + np.nan_to_num(x[:, 3]) * 0.7
    y = (score + rng.normal(0, 0.7, len(x)) > 0.6).astype(int)
    booster = lgb.train({"objective": "binary", "verbose": -1, "min_data_in_leaf": 5,
                         "num_threads": 1, "seed": 1, **params},
                        lgb.Dataset(x, y, categorical_feature=[2]), num_boost_round=25)
    test = _data(np.random.default_rng(6), 3000)
    test[::11, 2] = -0.5  # LightGBM truncates to category 0
    test[::13, 2] = -3.0  # a negative category goes right
    test[::17, 2] = 40.0  # beyond every set
    got = compile_rows(booster)(test)
    np.testing.assert_allclose(got, booster.predict(test), rtol=0, atol=1e-12)
    assert "if (" in model_source(booster)[0]
    # the second compile of the same model loads the cached library
    assert len(list(tmp_path.glob("*.so"))) == 1
    np.testing.assert_array_equal(compile_rows(booster)(test, num_threads=1), got)


def test_rows_of_the_wrong_width_name_the_input(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 4},
                        lgb.Dataset(x, (x[:, 0] > 0).astype(int)), num_boost_round=3)
    with pytest.raises(ValueError, match="rows"):
        compile_rows(booster)(x[:, :2])


def test_an_unwritable_cache_is_a_compiler_error(tmp_path, monkeypatch):
    """So the chunk evaluator falls back to numba instead of failing."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv(CACHE_ENV, str(blocker / "cache"))  # under a file: cannot be made
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 4},
                        lgb.Dataset(x, (x[:, 0] > 0).astype(int)), num_boost_round=3)
    with pytest.raises(CompilerError, match=CACHE_ENV):
        compile_rows(booster)
