"""Shared fixtures: the project folder, the shared fixtures folder, Prefect's harness, and
one demo run with a trained model for the modules that read it (built once a session)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_REAL = PROJECT_ROOT.parent / "shared" / "fixtures" / "real"


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def real_fixtures() -> Path:
    if not SHARED_REAL.exists():
        pytest.skip(f"real fixtures not found at {SHARED_REAL} (../shared beside the repo)")
    return SHARED_REAL


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect server for the whole session (it takes ~20 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def demo_run(prefect_harness, project_root, tmp_path_factory):
    """``wetindex demo``'s flow on a 2 × 2 km, 1.5-year demo area with a storm 20 h ahead:
    ``(DemoResult, output folder)``. test_end_to_end checks its products and
    test_evaluate_demo re-evaluates its model: one training serves both."""
    from wetindex.cli import _load_flow
    from wetindex.model.train import load_model_config, quick_model_config

    out = tmp_path_factory.mktemp("demo-run")
    # the default model configuration with fewer rows and trees and no blocked CV (as
    # notebook 03's): training was most of this fixture's time; the skill test stands
    model_config = quick_model_config(
        load_model_config(project_root / "models" / "configs" / "default.yaml"))
    # no test reads this run's report charts or event scores (notebooks 03 and 04 make
    # both on a trained demo model; tests/model/test_events.py checks the events)
    model_config["evaluation"].update(report_images=False, events=False)
    quick = out / "quick-model.yaml"
    quick.write_text(yaml.safe_dump(model_config))
    flow = _load_flow(project_root, "demo_flow")
    # a storm surge overtops the demo dike 20 h after the issue time, as in `wetindex demo`:
    # the run must warn and mail, so the alert tests can fail on a silent chain
    result = flow(root=str(project_root), output_root=str(out), size_m=2000.0, years=1.5,
                  seed=7, storm_ahead_h=20, model_config_file=str(quick))
    return result, out
