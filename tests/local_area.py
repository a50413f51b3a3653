"""A tiny local-files area for the area, Dask and Prefect tests (built once per session).

The demo world (1 × 1 km, 100 days) is exported with :mod:`wetindex.demo.export` and
turned into ``areas/tiny.yaml`` under a temporary project folder whose resources
(``pipelines/``, ``models/configs``, ``web``) link to the repository's.
"""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from wetindex.features.stack import FEATURES
from wetindex.model.artifacts import LoadedModel

_BUILT: dict[str, Path] = {}


def tiny_project(base: Path, repo: Path) -> Path:
    """Project folder with ``example-inputs/`` and ``areas/tiny.yaml`` (memoised)."""
    if "project" in _BUILT:
        return _BUILT["project"]
    from typer.testing import CliRunner

    from wetindex.cli import app
    from wetindex.demo import DemoWorldConfig, build_demo_world
    from wetindex.demo.export import export_inputs

    project = base / "project"
    (project / "models").mkdir(parents=True)
    for link, target in (("pipelines", "pipelines"), ("web", "web"),
                         ("models/configs", "models/configs")):
        (project / link).symlink_to(repo / target)
    world = build_demo_world(DemoWorldConfig(size_m=1000.0, years=100 / 365.25,
                                             start="2025-03-01T00:00", seed=7))
    files = export_inputs(project / "example-inputs", world)
    args = ["init", "--aoi", str(files["boundary"]), "--name", "tiny", "--root", str(project),
            "--margin-m", "100"]
    for kind in ("terrain", "rain", "evaporation", "sea_level", "groundwater", "dikes",
                 "labels"):
        args += ["--input", f"{kind}={files[kind]}"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    _BUILT["project"] = project
    return project


def synthetic_model(issue_time: pd.Timestamp, seed: int = 0, *,
                    rising_with_lead: bool = False) -> LoadedModel:
    """A small LightGBM model on random rows (for equality tests, not for skill).

    ``rising_with_lead``: its probability rises from near 0 at the first lead hours to
    near 1 at the last, everywhere, so its forecast is water beyond what stands at the
    issue time: a warning in force (for tests of what happens to warnings).
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(3000, len(FEATURES))).astype("float32")
    if rising_with_lead:
        lead = FEATURES.index("lead_hours")
        x[:, lead] = rng.integers(1, 49, size=len(x))
        y = (x[:, lead] + rng.normal(scale=3.0, size=len(x)) > 12).astype(int)
    else:
        y = (x[:, 0] + 0.5 * x[:, -1] + rng.normal(scale=0.5, size=len(x)) > 0.8).astype(int)
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 15},
                        lgb.Dataset(x, y, feature_name=list(FEATURES)), num_boost_round=20)
    screen = {"hand_max_m": 50.0, "sea_level_headroom_m": 5.0, "groundwater_headroom_m": 5.0,
              "max_sea_level": 2.0, "groundwater_shallowest_time": issue_time.isoformat()}
    return LoadedModel(booster, {"version": "synthetic", "screen": screen}, Path("synthetic"))
