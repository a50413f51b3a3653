"""The Prefect flows of an area that no other test runs end to end (housekeeping, train,
forecast), under Prefect's harness, on their own copies of the tiny area; each test
checks what the flow made on disk, not only that it completed."""

from __future__ import annotations

import io
import json
import math
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import xarray as xr
import yaml
from local_area import tiny_project
from rich.console import Console

from wetindex import progress
from wetindex.alerts.crypto import generate_key
from wetindex.forecast_stream import FORECAST_BLOCKS

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the flows' clock, injected (WETINDEX_NOW)


@pytest.fixture(scope="module")
def own_project(tmp_path_factory, project_root):
    """The tiny area in a project folder of its own: the flows change what they find."""
    tiny = tiny_project(tmp_path_factory.mktemp("tiny"), project_root)
    root = tmp_path_factory.mktemp("flows") / "project"
    (root / "areas").mkdir(parents=True)
    shutil.copy(tiny / "areas" / "tiny.yaml", root / "areas" / "tiny.yaml")
    for link in ("pipelines", "web", "models"):
        (root / link).symlink_to(tiny / link)
    return root


def _forecast_folder(root, issued: datetime):
    folder = root / "var" / "tiny" / "forecasts" / f"{issued:%Y%m%dT%H%MZ}"
    folder.mkdir(parents=True)
    return folder


def test_housekeeping_flow_deletes_old_forecasts_but_never_the_latest(
        prefect_harness, own_project, project_root, monkeypatch):
    from prefect.flows import load_flow_from_entrypoint

    monkeypatch.setenv("WETINDEX_NOW", NOW.isoformat())
    monkeypatch.setenv("WETINDEX_SECRET_KEY", generate_key())  # the alerts store's key
    old = _forecast_folder(own_project, NOW - timedelta(days=40))
    latest = _forecast_folder(own_project, NOW - timedelta(days=35))
    recent = _forecast_folder(own_project, NOW - timedelta(days=2))
    (latest.parent / "LATEST").write_text(latest.name + "\n")
    flow = load_flow_from_entrypoint(f"{project_root}/pipelines/flows.py:housekeeping_flow")
    done = flow(area="tiny", root=str(own_project))
    # retention 30 days: the 40-day-old one goes; the latest stays however old it is
    assert not old.exists() and latest.exists() and recent.exists()
    assert done["forecasts_removed"] == [str(old)]
    assert "alerts" in done


# ------------------------------------------------------- train, then forecast, by flows

#: A small model (few trees, rows, no folds) and a small issue-time reference: the test
#: checks what the flows make and where, not the model's skill.
LIGHT_MODEL = {
    "lightgbm": {"objective": "binary", "learning_rate": 0.1, "num_leaves": 15,
                 "min_data_in_leaf": 20, "max_bin": 63, "num_boost_round": 30,
                 "early_stopping_rounds": 10},
    "sampling": {"training_cells": 600, "valid_hour_step": 1, "max_positive_rows": 4000,
                 "max_negative_rows": 8000, "gap_hours": 120, "validation_fraction": 0.2},
    "screen": {"hand_max_m": 3.0, "sea_level_headroom_m": 1.0, "groundwater_headroom_m": 0.5},
    "evaluation": {"cells": 100, "issue_step_h": 48, "baseline_rounds": 20,
                   "baseline_max_rows": 20_000, "report_images": False, "events": False},
    "cv": {"n_folds": 0},
}
FORECAST_NOW = datetime(2025, 6, 8, 23, 30, tzinfo=UTC)  # the tiny area's inputs end 23:00


@pytest.fixture(scope="module")
def trainable_project(tmp_path_factory, project_root):
    """The tiny area with its own models folder, a 20-day hold-out (its history is 100
    days), the light model put live whatever its gate says, the learned forecast."""
    tiny = tiny_project(tmp_path_factory.mktemp("tiny"), project_root)
    root = tmp_path_factory.mktemp("trainflow") / "project"
    (root / "areas").mkdir(parents=True)
    (root / "models").mkdir()
    (root / "models" / "configs").symlink_to(project_root / "models" / "configs")
    for link in ("pipelines", "web", "example-inputs"):
        (root / link).symlink_to(tiny / link)
    (root / "light.yaml").write_text(yaml.safe_dump(LIGHT_MODEL))
    area = yaml.safe_load((tiny / "areas" / "tiny.yaml").read_text())
    area.setdefault("training", {}).update(model_config_file=str(root / "light.yaml"),
                                           holdout_days=20, force_model=True)
    area.setdefault("forecast", {})["method"] = "learned"
    # blocks of about 2000 cells: the forecast of the tiny area comes in several
    area.setdefault("dask", {})["chunk_cells"] = 2000
    (root / "areas" / "tiny.yaml").write_text(yaml.safe_dump(area, sort_keys=False))
    return root


def test_train_flow_then_forecast_flow_make_a_model_a_forecast_a_site_and_a_feed(
        prefect_harness, trainable_project, project_root, monkeypatch):
    from prefect.flows import load_flow_from_entrypoint

    root = trainable_project
    monkeypatch.setenv("WETINDEX_NOW", FORECAST_NOW.isoformat())
    monkeypatch.setenv("WETINDEX_SECRET_KEY", generate_key())
    train = load_flow_from_entrypoint(f"{project_root}/pipelines/flows.py:train_flow")
    trained = stages = train(area="tiny", root=str(root))
    assert [s["stage"] for s in stages] == ["history", "static", "train"]
    assert not stages[2]["reused"], stages[2]
    # the model version: booster, metadata with its hold-out evaluation, card and report
    latest = (root / "models" / "tiny" / "LATEST").read_text().strip()
    model_dir = root / "models" / "tiny" / latest
    assert latest in stages[2]["summary"] and (model_dir / "model.txt").exists()
    meta = json.loads((model_dir / "metadata.json").read_text())
    ev = meta["evaluation"]
    assert ev["n_rows"] > 0 and ev["n_cells"] == 100 and ev["lead_bins"]
    assert sum(c["cases"] for c in ev["cases"]) == ev["n_rows"]
    assert meta["model_config"]["evaluation"]["baseline_rounds"] == 20
    assert (model_dir / "model_card.md").exists()
    assert (model_dir / "evaluation" / "evaluation.md").exists()

    forecast = load_flow_from_entrypoint(f"{project_root}/pipelines/flows.py:forecast_flow")
    console = Console(file=io.StringIO(), width=120, force_terminal=False)
    with progress.shown(console):  # as `wetindex demo` shows its stages
        stages = forecast(area="tiny", root=str(root))
    assert [s["stage"] for s in stages] == ["history", "static", "forecast", "publish",
                                            "alerts"]
    # history and static were made by the train flow: Prefect's cache (same inputs key)
    # serves their results, not a second run
    assert stages[:2] == trained[:2]
    area = root / "var" / "tiny"
    issued = (area / "forecasts" / "LATEST").read_text().strip()
    folder = area / "forecasts" / issued
    assert issued == "20250608T2100Z"  # the slot owed at 23:30 (every 3 h)
    run = json.loads((folder / "run.json").read_text())
    assert run["model"] == latest and run["method"] == "learned"
    with xr.open_dataset(folder / "forecast.nc") as ds:
        assert ds.sizes["lead"] == 48 and ds.attrs["model_version"] == latest
        ny, nx = ds.sizes["y"], ds.sizes["x"]
    # published from this forecast: the release it names exists, the feed is there
    published = json.loads((folder / "published.json").read_text())
    assert Path(published["release"]).is_dir() and str(folder.name) in stages[2]["summary"]
    assert "atom.xml" in stages[3]["summary"]
    assert "decision(s)" in stages[4]["summary"]
    # the forecast's progress bar counted every block, none twice
    blocks = math.ceil(ny / max(1, 2000 // nx))
    bar = [ln for ln in console.file.getvalue().splitlines() if FORECAST_BLOCKS.strip() in ln]
    assert blocks >= 3 and bar and re.search(rf"\b{blocks}/{blocks}\b", bar[-1]), bar
