"""The demo's story: a storm surge overtops the dike about a day after the issue time,
the forecast the model sees shows it coming, and the history holds genuine events."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wetindex.config import demo_start_ending_now
from wetindex.demo import DemoWorld, DemoWorldConfig, build_demo_world
from wetindex.demo.climate import HOLDOUT_DAYS
from wetindex.sources.demo import DemoInputs

NOW = pd.Timestamp("2026-11-29T20:05")


@pytest.fixture(scope="module")
def world() -> DemoWorld:
    # the demo's history and storm (3 years, seed 42, the CLI's storm_ahead_h) on a
    # small area: the sea and its timing do not depend on the area's size
    start = demo_start_ending_now(3.0, now=NOW)
    return build_demo_world(DemoWorldConfig(size_m=2000.0, years=3.0, seed=42, start=start,
                                            storm_ahead_h=20))


def test_the_surge_floods_the_polder_20_to_25_hours_after_the_issue(world: DemoWorld) -> None:
    inputs = DemoInputs(world)
    issues = inputs.issue_times()
    issue = issues[issues <= world.history_end][-1]
    assert issue == NOW.floor("3h")
    after = pd.date_range(issue + pd.Timedelta(hours=1), periods=48, freq="h")
    polder = np.flatnonzero(world.truth_cells["polder"].values.ravel())
    flooded = world.water(after.values, cells=polder).values.mean(axis=1)
    now = world.water([issue.to_datetime64()], cells=polder).values.mean()
    first = int(np.flatnonzero(flooded > now + 0.02)[0]) + 1  # lead of the first flooding
    assert 20 <= first <= 25, f"the polder first floods at +{first} h"
    assert flooded.max() > now + 0.2, "the overtopping floods a good part of the polder"
    # until then the day is quiet in the polder: no new water
    assert flooded[: first - 2].max() <= now + 0.01
    assert now < 0.1, "a drained polder holds little standing water"
    # the forecast the model sees shows the surge over the crest, a little low and late
    fc = inputs.forecast(issue.to_datetime64())["sea_level"].values
    crest = world.dike_crest_min
    over = np.flatnonzero(fc > crest) + 1
    assert over.size >= 3 and abs(int(over[0]) - (first - 1)) <= 3
    true_sea = world.truth_state["sea_level"].sel(time=after.values).values
    assert 0.0 < true_sea.max() - fc.max() < 0.25


def test_the_history_holds_genuine_events_for_training_and_verification(world) -> None:
    end = world.history_end
    holdout = end - pd.Timedelta(days=HOLDOUT_DAYS)
    peaks = [pd.Timestamp(t) for t in world.events["overtopping_storms"]]
    in_history = [p for p in peaks if p <= end]
    assert sum(p >= holdout for p in in_history) >= 2, "two surges in the hold-out"
    assert sum(p < holdout for p in in_history) >= 1
    sea = world.truth_state["sea_level"].sel(time=[np.datetime64(p) for p in in_history])
    assert (sea.values > world.dike_crest_min).all()
    rain = world.forcing["rain"].to_series()
    day = rain.rolling(24).sum()
    assert day[day.index >= holdout].max() >= 35, "a rain flood in the hold-out"
    assert day[day.index < holdout].max() >= 35
    assert len(world.events["heavy_rain"]) >= 3
