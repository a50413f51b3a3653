"""A new area without labels: init → run all gives a published physical forecast.

The area is the demo world exported as local files, with a storm surge that overtops
the dike ~20 h after the history ends and the archived forecasts of sea level and rain
(:mod:`wetindex.physics.democheck`), as a municipality's first day would be.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from wetindex.alerts.crypto import generate_key
from wetindex.cli import app


@pytest.fixture(scope="module")
def new_area(tmp_path_factory, project_root: Path) -> Path:
    from wetindex.demo import DemoWorldConfig, build_demo_world
    from wetindex.demo.export import export_inputs
    from wetindex.physics.democheck import write_forecast_csv

    project = tmp_path_factory.mktemp("new-area")
    (project / "models").mkdir()
    for link, target in (("pipelines", "pipelines"), ("web", "web"),
                         ("models/configs", "models/configs")):
        (project / link).symlink_to(project_root / target)
    world = build_demo_world(DemoWorldConfig(size_m=1000.0, years=100 / 365.25,
                                             start="2025-03-01T00:00", seed=7,
                                             storm_ahead_h=20))
    files = export_inputs(project / "inputs", world)
    files["forecast"] = write_forecast_csv(project / "inputs" / "forecast.csv", world)
    args = ["init", "--aoi", str(files["boundary"]), "--name", "fresh", "--root", str(project),
            "--margin-m", "100"]
    for kind in ("terrain", "rain", "evaporation", "sea_level", "groundwater", "dikes",
                 "forecast"):
        args += ["--input", f"{kind}={files[kind]}"]  # no labels: nothing observed yet
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    # the runs are "now" at the end of the exported history, never the wall clock
    end = pd.read_csv(files["rain"])["time"].iloc[-1]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WETINDEX_NOW", pd.Timestamp(end).isoformat())
        mp.setenv("WETINDEX_SECRET_KEY", generate_key())  # the operator's contact key
        yield project


def test_an_area_without_labels_runs_end_to_end_on_the_physical_forecast(new_area):
    runner = CliRunner()
    result = runner.invoke(app, ["run", "all", "--area", "fresh", "--root", str(new_area)])
    assert result.exit_code == 0, result.output
    assert "train     done" in result.output and "skipped: nothing to train on" in result.output
    assert "(physical)" in result.output
    area = new_area / "var" / "fresh"
    latest = area / "forecasts" / (area / "forecasts" / "LATEST").read_text().strip()
    status = json.loads((latest / "status.json").read_text())
    assert status["forecast_method"] == "physical"
    assert "not yet trained on observed water here" in status["method_note"]
    assert status["model_version"] == "physical-1"
    assert "archived forecasts" in status["proxies"]["forecast"]
    # the surge: the polder is dry now and orange or red around high water, the dike's
    # margin is negative
    physical = json.loads((latest / "physical.json").read_text())
    (dike,) = physical["dikes"]
    assert dike["margin_m"] < 0 and dike["overtopping_probability"] > 0.5
    high_water = pd.Timestamp(dike["high_water_time"])
    static = xr.open_zarr(next((area / "static").glob("*.zarr")), consolidated=False)
    polder = static["dike_protected"].values
    level = xr.open_dataset(latest / "forecast.nc")["level"].values[:, polder]
    issued = pd.Timestamp(status["issue_time"]).tz_localize(None)
    peak = int((high_water - issued) / pd.Timedelta(hours=1)) - 1
    assert 15 <= peak <= 30
    assert (level[0] >= 2).mean() < 0.1
    assert (level[peak] >= 2).mean() > 0.9
    site = area / "site" / "current"
    assert "not yet trained on observed water here" in (site / "en" / "about.html").read_text()
    assert "endnu ikke trænet på observeret vand her" in (site / "about.html").read_text()
    assert (area / "feed" / "atom.xml").exists()
    card = (new_area / "models" / "fresh" / "physical" / "model_card.md").read_text()
    assert "not yet trained on observed water here" in card
    st = runner.invoke(app, ["status", "--area", "fresh", "--root", str(new_area), "--json"])
    assert json.loads(st.output)["forecast"]["forecast_method"] == "physical"
    # asking for the learned model without one says what to do
    learned = runner.invoke(app, ["run", "forecast", "--area", "fresh", "--root", str(new_area),
                                  "--method", "learned"])
    assert learned.exit_code != 0 and "no trained model" in learned.output
    side = runner.invoke(app, ["methods", "--area", "fresh", "--root", str(new_area)])
    assert side.exit_code == 0, side.output
    assert "physical" in side.output and "no trained model" in side.output
    assert "live: physical" in side.output and "--method physical|learned" in side.output
