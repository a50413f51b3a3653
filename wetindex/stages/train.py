"""The train stage: train on the history, evaluate on the hold-out, save a model version."""

from __future__ import annotations

import logging

import xarray as xr

from wetindex.model.artifacts import LoadedModel, load_model, save_model
from wetindex.model.evaluate import evaluate, evaluation_options
from wetindex.model.report import write_report
from wetindex.model.screen import screened_cells
from wetindex.model.train import load_model_config, train
from wetindex.normal import normal_for_model
from wetindex.sources.base import AreaInputs
from wetindex.stages.context import AreaContext
from wetindex.stages.inputs import history_end
from wetindex.stages.model_card import model_card

log = logging.getLogger(__name__)


def train_stage(ctx: AreaContext, inputs: AreaInputs, static: xr.Dataset,
                inputs_key: str | None = None) -> LoadedModel:
    """Train on the history, evaluate on the hold-out period, save a new model version.

    ``inputs_key`` (see :func:`inputs_key`) is stored in the metadata so a rerun with
    the same inputs reuses the model (:class:`wetindex.stages.run.AreaRun`).
    """
    model_config = load_model_config(ctx.root / ctx.config.training.model_config_file)
    end = history_end(inputs)
    trained, _ = train(inputs, static, model_config, history_end=end,
                       holdout_days=ctx.config.training.holdout_days,
                       max_lead_h=ctx.config.forecast.max_lead_h)
    report = evaluate(trained.booster, inputs, static, holdout=trained.periods.holdout,
                      train=trained.periods.train, screen=trained.screen,
                      thresholds=ctx.config.thresholds.as_list(),
                      chance=ctx.config.warning_chance.as_list(),
                      max_lead_h=ctx.config.forecast.max_lead_h,
                      calibration=trained.calibration,
                      **evaluation_options(model_config["evaluation"]))
    metadata = {
        "calibration": trained.calibration,
        "cv": trained.cv,
        "periods": trained.periods.to_dict(),
        "screen": trained.screen,
        "rows": trained.n_rows,
        "best_iteration": trained.booster.best_iteration,
        "model_config": trained.model_config,
        "area_config": ctx.config.model_dump(mode="json"),
        "inputs": [a.to_dict() for a in inputs.attributions()],
        "evaluation": report,
        "inputs_key": inputs_key,
    }
    path = save_model(ctx.models_root, ctx.config.name, trained.booster, metadata,
                      model_card(ctx, metadata), root=ctx.root)
    log.info("model saved to %s", path)
    normal_for_model(path, inputs, screened_cells(inputs, static, trained.screen),
                     metadata["periods"]["train"])  # the seasonal normal, kept with the model
    model = load_model(ctx.models_root, ctx.config.name)
    images = bool(model_config["evaluation"].get("report_images", True))
    log.info("verification report in %s", write_report(path, model.metadata, images=images))
    return model

