"""Model artifacts: never overwritten, checked before use."""

from __future__ import annotations

import json

import lightgbm as lgb
import numpy as np
import pytest

from wetindex.features.stack import FEATURES
from wetindex.model.artifacts import ModelArtifactError, load_model, save_model


def _booster() -> lgb.Booster:
    rng = np.random.default_rng(0)
    x = rng.random((400, len(FEATURES))).astype("float32")
    y = (x[:, 0] + rng.normal(0, 0.1, 400) > 0.5).astype(int)
    return lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 4},
                     lgb.Dataset(x, y, feature_name=list(FEATURES)), num_boost_round=5)


def test_save_then_load_gives_the_same_predictions(tmp_path, project_root):
    booster = _booster()
    path = save_model(tmp_path, "demo", booster, {"screen": {}}, "# card\n", root=project_root)
    assert (tmp_path / "demo" / "LATEST").read_text().strip() == path.name
    loaded = load_model(tmp_path, "demo")
    x = np.random.default_rng(1).random((10, len(FEATURES)))
    np.testing.assert_allclose(loaded.booster.predict(x), booster.predict(x))
    meta = json.loads((path / "metadata.json").read_text())
    assert meta["features"] == list(FEATURES) and meta["git_revision"]


def test_a_second_save_makes_a_new_version(tmp_path, project_root):
    first = save_model(tmp_path, "demo", _booster(), {}, "", root=project_root)
    second = save_model(tmp_path, "demo", _booster(), {"note": "again"}, "", root=project_root)
    assert first != second and first.exists() and second.exists()


def test_feature_mismatch_is_refused_with_the_difference(tmp_path, project_root):
    path = save_model(tmp_path, "demo", _booster(), {}, "", root=project_root)
    meta = json.loads((path / "metadata.json").read_text())
    meta["features"] = [*meta["features"][:-1], "soil_moisture"]
    (path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelArtifactError, match="soil_moisture") as err:
        load_model(tmp_path, "demo")
    assert "retrain" in str(err.value)


def test_no_model_names_the_command_to_run(tmp_path):
    with pytest.raises(ModelArtifactError, match="wetindex run train --area demo"):
        load_model(tmp_path, "demo")


def test_other_format_version_is_refused(tmp_path, project_root):
    path = save_model(tmp_path, "demo", _booster(), {}, "", root=project_root)
    meta = json.loads((path / "metadata.json").read_text())
    meta["format_version"] = 99
    (path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelArtifactError, match="format 99"):
        load_model(tmp_path, "demo")
