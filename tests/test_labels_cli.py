"""`wetindex labels build` on a local area, then `run train` learns from the label store."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import yaml
from local_area import tiny_project
from typer.testing import CliRunner

from wetindex.cli import app
from wetindex.config import load_config
from wetindex.model.label_store import LabelledInputs, LabelStore
from wetindex.stages.context import AreaContext
from wetindex.stages.inputs import area_inputs, inputs_key

runner = CliRunner()


@pytest.fixture(scope="module")
def project(tmp_path_factory, project_root):
    shared = tiny_project(tmp_path_factory.mktemp("tiny"), project_root)
    own = tmp_path_factory.mktemp("labels") / "project"
    shutil.copytree(shared, own, symlinks=True)   # other modules use the shared one
    return own


def test_reports_join_the_store_and_training_reads_it(project):
    config = load_config(project / "areas" / "tiny.yaml")
    ctx = AreaContext(config, project)
    before = area_inputs(ctx)
    key_before = inputs_key(ctx, before)
    g = before.grid
    t = pd.Timestamp(before.issue_times()[10]) + pd.Timedelta(hours=2)
    reports = project / "reports.csv"
    pd.DataFrame({"time": [t.isoformat() + "Z"], "x": [g.x[3]], "y": [g.y[4]],
                  "radius_m": [1.0], "wet": [1], "source": ["digelag"]}).to_csv(reports,
                                                                                   index=False)
    result = runner.invoke(app, ["labels", "build", "--area", "tiny", "--start", "2025-03-01",
                                 "--end", "2025-06-01", "--sensors", "none", "--reports",
                                 str(reports), "--root", str(project)])
    assert result.exit_code == 0, result.output
    assert "digelag" in result.output and "label store: 1 maps" in result.output
    store = LabelStore.load(project / "var" / "tiny" / "labels")
    assert store.maps[0].source == "digelag"
    inputs = area_inputs(ctx)
    assert isinstance(inputs, LabelledInputs)
    cell = 4 * g.nx + 3
    assert inputs.labels(np.array([t.to_datetime64()]), np.array([cell]))[0, 0] == 1
    # a rebuild over the same window replaces, it does not count the report twice
    again = runner.invoke(app, ["labels", "build", "--area", "tiny", "--start", "2025-03-01",
                                "--end", "2025-06-01", "--sensors", "none", "--reports",
                                str(reports), "--root", str(project)])
    assert again.exit_code == 0 and "label store: 1 maps" in again.output
    # a new label store is a new training input: the model is not reused (training
    # itself goes through AreaRun.inputs = area_inputs, the same object)
    assert inputs_key(ctx, inputs) != key_before


def test_labels_build_errors_are_one_line(project):
    bad = runner.invoke(app, ["labels", "build", "--area", "tiny", "--start", "2025-03-01",
                              "--end", "2025-03-02", "--sensors", "landsat",
                              "--root", str(project)])
    assert bad.exit_code == 1 and "unknown ['landsat']" in bad.output
    cfg = yaml.safe_load((project / "areas" / "tiny.yaml").read_text())
    assert cfg["name"] == "tiny"
    shutil.rmtree(project / "var" / "tiny" / "labels", ignore_errors=True)
    empty = runner.invoke(app, ["labels", "build", "--area", "tiny", "--start", "2025-03-01",
                                "--end", "2025-03-02", "--sensors", "none",
                                "--root", str(project)])
    assert empty.exit_code == 1 and "no labels for tiny" in empty.output
