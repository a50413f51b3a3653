"""The demo's warnings against what the simulator then floods: a red place has flooding
water at houses, roads, the polder or dry fields, and the surge over the dike is warned
from within 3 hours of the polder's first flooding."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from wetindex.commands.model import area_context, trained_context
from wetindex.model.artifacts import load_model
from wetindex.model.events import NEW_WATER_H, observed_flooding, place_index_of
from wetindex.model.screen import screened_cells
from wetindex.normal import area_exposure, normal_for_model
from wetindex.risk import MIN_AREA_M2
from wetindex.stages.inputs import area_inputs
from wetindex.stages.static import build_static

HOUR = pd.Timedelta(hours=1)


class _SimulatorTruth:
    """The demo world's true water as labels at every hour, the future included."""

    def __init__(self, world) -> None:
        self.world = world

    def labels(self, times, cells) -> np.ndarray:
        return self.world.water(np.asarray(times), cells=cells).values.astype("int8")


@pytest.fixture(scope="module")
def trained_area(demo_run, project_root):
    """The session's demo run as its area: ``(context, model, inputs, static)``."""
    _, root = demo_run
    if not (root / "pipelines").exists():
        (root / "pipelines").symlink_to(project_root / "pipelines")
    ctx = area_context("demo", root)
    model = load_model(ctx.models_root, ctx.config.name, None)
    ctx = trained_context(ctx, model)
    inputs = area_inputs(ctx)
    return ctx, model, inputs, build_static(ctx, inputs)


@pytest.fixture(scope="module")
def warned_and_true(demo_run, trained_area):
    """The run's warnings, and per place and hour of its 48 h the highest level the true
    new water reaches on 1 ha (the events' truth, :func:`observed_flooding`)."""
    result, _ = demo_run
    ctx, model, inputs, static = trained_area
    places = inputs.places()
    cells = screened_cells(inputs, static, model.metadata["screen"])
    place_of = place_index_of(cells, places, inputs.grid)
    exposure = area_exposure(inputs.static_inputs(), static).ravel()[cells]
    normal = normal_for_model(model.path, inputs, cells, None).values.reshape(12, -1)[:, cells]
    with xr.open_dataset(result.forecast / "forecast.nc") as ds:
        issue = pd.Timestamp(ds["issue_time"].values)
    hours = pd.date_range(issue + HOUR, periods=48, freq="h")
    severity: dict = {}
    observed_flooding(_SimulatorTruth(inputs.world), cells, place_of, len(places), hours,
                      normal, exposure, inputs.grid.cell_area, MIN_AREA_M2,
                      new_water_h=NEW_WATER_H, thresholds=ctx.config.thresholds.as_list(),
                      severity=severity)
    truth = (severity["level_area"] >= MIN_AREA_M2).sum(axis=2)  # (hour, place) 0–3
    warnings = {f["properties"]["place"]: f["properties"] for f in json.loads(
        (result.forecast / "warnings.geojson").read_text())["features"]}
    polder = [p.name for p in places if p.kind == "polder"]
    return warnings, {p.name: truth[:, i] for i, p in enumerate(places)}, hours, polder


def test_no_red_place_without_red_flooding_near_its_red_hours(warned_and_true):
    warnings, truth, _, _ = warned_and_true
    for place, w in warnings.items():
        red = np.flatnonzero(np.asarray(w["hourly_levels"]) == 3)
        if red.size == 0:
            continue
        near = slice(max(0, red[0] - 3), red[-1] + 4)
        assert truth[place][near].max() == 3, (
            f"{place} is red at +{red[0] + 1}…+{red[-1] + 1} h, but the true new water "
            f"reaches at most level {truth[place][near].max()} then")


def test_the_surge_is_warned_from_the_polders_first_flooding(warned_and_true):
    warnings, truth, _, polder = warned_and_true
    (name,) = polder
    flooded = np.flatnonzero(truth[name] >= 1)
    assert flooded.size, "the demo's surge floods the polder within the 48 h"
    w = warnings.get(name)
    assert w is not None and w["level"] >= 2, f"the polder is not warned orange or red: {w}"
    hourly = np.asarray(w["hourly_levels"])
    first_warned = int(np.argmax(hourly >= 2))
    assert abs(first_warned - flooded[0]) <= 3, (
        f"the polder floods from +{flooded[0] + 1} h, warned orange or red from "
        f"+{first_warned + 1} h")
    # and stays warned while the water is there
    assert (hourly[flooded[0] + 3:flooded[-1] - 2] >= 2).all()


def test_the_event_upper_bound_replays_the_same_issues_with_the_observed_drivers(trained_area):
    """The event verification's upper bound: the same issue times, the forecast's scores
    equal to the main verification's, and another replay (observed drivers) beside them."""
    from wetindex.model.event_replay import evaluate_events

    ctx, model, inputs, static = trained_area
    meta = model.metadata
    periods = {k: (pd.Timestamp(v[0]), pd.Timestamp(v[1])) for k, v in meta["periods"].items()}
    out = evaluate_events(model.booster, inputs, static,
                          holdout=periods["holdout"], train=periods["train"],
                          screen=meta["screen"], thresholds=ctx.config.thresholds.as_list(),
                          chance=ctx.config.warning_chance.as_list(), issue_step_h=72,
                          max_cells=3000)
    bound = out["observed_drivers"]
    assert 0 < bound["n_issues"] <= out["n_issues"]
    if bound["n_issues"] == out["n_issues"]:
        for level, scores in bound["forecast"]["levels"].items():
            assert scores["pod"] == out["levels"][level]["pod"] or (
                np.isnan(scores["pod"]) and np.isnan(out["levels"][level]["pod"]))
    # a perfect weather and sea forecast changes what is warned (the demo's forecasts
    # miss, invent and mistime storms)
    forecast, observed = bound["forecast"]["levels"], bound["observed"]["levels"]
    assert any(forecast[lv]["n_warnings"] != observed[lv]["n_warnings"]
               or forecast[lv]["hits"] != observed[lv]["hits"] for lv in forecast)
