"""`wetindex evaluate --area demo` scores the model the demo run trained, on that run's
world (its start, which follows the clock, and its coming storm)."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from wetindex.cli import app
from wetindex.config import TrainingConfig, demo_config, demo_start_ending_now
from wetindex.model.train import load_model_config
from wetindex.stages.context import AreaContext
from wetindex.stages.inputs import area_inputs
from wetindex.stages.static import build_static
from wetindex.stages.train import train_stage


@pytest.fixture(scope="module")
def trained_demo(project_root, tmp_path_factory):
    """A small demo trained as `wetindex demo` does: start from "now", a storm ahead."""
    root = tmp_path_factory.mktemp("demo-eval")
    (root / "pipelines").symlink_to(project_root / "pipelines")
    # a light model configuration (as notebook 3's) keeps the test to seconds
    model_config = load_model_config(project_root / "models" / "configs" / "default.yaml")
    model_config["sampling"].update(training_cells=2000, valid_hour_step=6,
                                    max_positive_rows=4000, max_negative_rows=8000)
    model_config["lightgbm"].update(num_boost_round=20)
    # a small issue-time reference, and no report charts (no test here reads them)
    model_config["evaluation"].update(cells=200, issue_step_h=48, baseline_rounds=40,
                                      baseline_max_rows=50_000, report_images=False)
    model_config["cv"]["n_folds"] = 1
    quick = root / "quick.yaml"
    quick.write_text(yaml.safe_dump(model_config))
    start = demo_start_ending_now(1.0, now="2026-11-29T20:05")
    config = demo_config(size_m=1000.0, years=1.0, seed=7, start=start, storm_ahead_h=20)
    config = config.model_copy(update={"training": TrainingConfig(model_config_file=str(quick))})
    ctx = AreaContext(config, root)
    inputs = area_inputs(ctx)
    static = build_static(ctx, inputs)
    model = train_stage(ctx, inputs, static)
    return root, model


def test_evaluate_after_the_demo_scores_the_same_model_on_the_same_world(trained_demo):
    root, model = trained_demo
    result = CliRunner().invoke(app, ["evaluate", "--area", "demo", "--root", str(root)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "Brier skill score" in result.output
    evaluated = json.loads((model.path / "evaluation" / "metadata_evaluated.json").read_text())
    # same hold-out rows as at training: the world was not rebuilt for another start
    assert evaluated["evaluation"]["n_rows"] == model.metadata["evaluation"]["n_rows"]
    assert evaluated["evaluation"]["n_wet"] == model.metadata["evaluation"]["n_wet"]
    # against the same issue-time reference (its size read from the model's configuration)
    reference = [ev["scores"]["issue_time_baseline"]["brier"]
                 for ev in (evaluated["evaluation"], model.metadata["evaluation"])]
    assert reference[0] == pytest.approx(reference[1], rel=1e-9)
    assert evaluated["area_config"]["demo"]["start"] == model.metadata["area_config"]["demo"][
        "start"]
    worlds = list((root / "var" / "demo" / "world").iterdir())
    assert len(worlds) == 1, f"evaluate built a second demo world: {worlds}"
