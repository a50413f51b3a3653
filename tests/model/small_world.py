"""One small demo world for the model's unit tests: 1.5 × 1.5 km at 25 m, one year.

Built once per test session (about 15 s on a busy machine) and shared: the sampling,
training and evaluation tests read it and never change it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import xarray as xr

from wetindex.demo.world import DemoWorldConfig, build_demo_world
from wetindex.features.terrain import static_features
from wetindex.sources.demo import DemoInputs

WORLD = DemoWorldConfig(size_m=1500.0, cell_size=25.0, years=1.0, seed=3)


@cache
def small_world() -> tuple[DemoInputs, xr.Dataset]:
    """The world's inputs and its static terrain features."""
    inputs = DemoInputs(build_demo_world(WORLD))
    raw = inputs.static_inputs()
    static = static_features(raw["elevation"], raw["sea"], stream=raw["stream"],
                             dike_crest=raw["dike_crest"], land_cover=raw["land_cover"],
                             permanent_water=raw["permanent_water"])
    return inputs, static


def small_model_config(**sampling: Any) -> dict[str, Any]:
    """The default model configuration made small: 40 rounds, 600 cells, no CV."""
    return {
        "lightgbm": {"objective": "binary", "learning_rate": 0.1, "num_leaves": 15,
                     "min_data_in_leaf": 20, "max_bin": 63, "num_boost_round": 40,
                     "early_stopping_rounds": 10},
        "sampling": {"training_cells": 600, "valid_hour_step": 6, "max_positive_rows": 4000,
                     "max_negative_rows": 8000, "gap_hours": 120,
                     "validation_fraction": 0.2, **sampling},
        "screen": {"hand_max_m": 3.0, "sea_level_headroom_m": 1.0,
                   "groundwater_headroom_m": 0.5},
        "evaluation": {"cells": 300, "issue_step_h": 24},
        "cv": {"n_folds": 0},
    }
