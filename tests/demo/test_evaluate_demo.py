"""`wetindex evaluate --area demo` scores the model the demo run trained, on that run's
world (its start, which follows the clock, and its coming storm)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from wetindex.cli import app
from wetindex.model.artifacts import load_model


@pytest.fixture(scope="module")
def trained_demo(demo_run, project_root):
    """The session's demo run (conftest.demo_run: trained as `wetindex demo` does, its
    start following the clock, a storm ahead) and its model."""
    _, root = demo_run
    if not (root / "pipelines").exists():
        (root / "pipelines").symlink_to(project_root / "pipelines")
    return root, load_model(root / "models", "demo")


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
