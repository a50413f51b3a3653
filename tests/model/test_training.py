"""Training (wetindex.model.train) on a small demo world: the model learns where water
comes, from the past only, and refuses an area where it never came."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from small_world import small_model_config, small_world

from wetindex.model.train import train
from wetindex.sources.demo import DemoInputs

HOLDOUT_DAYS = 60


@pytest.fixture(scope="module")
def trained():
    inputs, static = small_world()
    model, val_rows = train(inputs, static, small_model_config(),
                            history_end=pd.Timestamp(inputs.observed_end()),
                            holdout_days=HOLDOUT_DAYS, seed=0)
    return inputs, static, model, val_rows


def test_training_and_validation_rows_come_before_the_holdout(trained):
    _, _, model, val_rows = trained
    p = model.periods
    assert p.train[1] < p.validation[0] and p.validation[1] < p.holdout[0]
    issue_t = val_rows.valid_time - val_rows.lead.astype("timedelta64[h]")
    assert (issue_t >= p.validation[0].to_datetime64()).all()
    assert (issue_t <= p.validation[1].to_datetime64()).all()
    n = model.n_rows
    assert n["train"] > 0 and 0 < n["train_wet"] < n["train"]
    assert n["training_cells"] == min(600, n["candidate_cells"])


def test_the_model_ranks_wet_above_dry_on_rows_it_was_not_fitted_on(trained):
    _, _, model, val_rows = trained
    raw = model.booster.predict(val_rows.features)
    auc = roc_auc_score(val_rows.label, raw, sample_weight=val_rows.weight)
    assert auc > 0.8, auc  # a model fitted to misaligned labels scores about 0.5
    assert model.booster.num_trees() <= 40
    assert model.calibration and "validation_ece" in model.calibration


def test_training_refuses_an_area_without_any_wet_cell(trained):
    inputs, static, _, _ = trained

    class Dry(DemoInputs):
        def labels(self, times, cells):
            return np.zeros((len(times), len(cells)), "int8")

    with pytest.raises(ValueError, match="no wet cell"):
        train(Dry(inputs.world), static, small_model_config(),
              history_end=pd.Timestamp(inputs.observed_end()), holdout_days=HOLDOUT_DAYS)
