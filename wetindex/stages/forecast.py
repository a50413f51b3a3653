"""The forecast stage: 48 h of probabilities, levels and warnings from ``issue_time``."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pandas as pd
import xarray as xr

from wetindex.features.stack import FEATURE_GROUPS, FEATURES
from wetindex.model.artifacts import LoadedModel
from wetindex.model.calibration import apply_calibration
from wetindex.model.predict import ForecastInputs, gather_inputs
from wetindex.model.zones import predict_zones
from wetindex.normal import forecast_dataset, normal_for_model
from wetindex.physics.stage import physical_forecast_stage
from wetindex.risk import group_contributions, warning_areas
from wetindex.sources.base import AreaInputs
from wetindex.stages.cluster import dask_client, predict_cells
from wetindex.stages.context import AreaContext
from wetindex.stages.inputs import input_health, latest_issue_time
from wetindex.stages.products import Forecast, made_status, write_forecast
from wetindex.warnings import InputHealth


def forecast_stage(ctx: AreaContext, inputs: AreaInputs, static: xr.Dataset,
                   model: LoadedModel | None, issue_time: pd.Timestamp | None = None,
                   method_reason: str = "", health: list[InputHealth] | None = None,
                   message: str = "", generated_at: datetime | None = None) -> Forecast:
    """Predict 48 h ahead from ``issue_time`` (default: the latest) and write the products.

    Without a ``model`` the physically based forecast runs (:mod:`wetindex.physics`).
    ``health`` and ``message`` (from :mod:`wetindex.freshness`) replace the computed
    input health when drivers were continued past their feed's end (degraded).
    """
    if model is None:
        return physical_forecast_stage(ctx, inputs, static, issue_time, method_reason,
                                       health=health, message=message,
                                       generated_at=generated_at)
    issue_time = pd.Timestamp(issue_time) if issue_time is not None else latest_issue_time(inputs)
    health = health or input_health(inputs, issue_time, ctx.config.forecast.stale_after_h)
    fin = gather_inputs(inputs, static, issue_time.to_datetime64(), model.screen)
    zoned = getattr(inputs, "rain_zones", None)  # gridded forecast rain (live areas)
    if zoned is not None and zoned(issue_time.to_datetime64()) is not None:
        prob = predict_zones(model.booster, inputs, fin, inputs.grid)
    else:
        with dask_client(ctx) as client:
            prob = predict_cells(model.booster, fin, inputs.grid, client,
                                 chunk_cells=ctx.config.dask.chunk_cells)
    calibration = model.metadata.get("calibration") or {}
    if any(not m.get("identity") for m in calibration.get("maps", [])):
        # only a map the guard kept changes anything; skip the copy of the cube otherwise
        prob.values[:] = apply_calibration(prob.values, prob["lead"].values[:, None, None],
                                           calibration)
    # levels come from the excess water on exposed land, not the raw wetness (normal.py)
    normal = normal_for_model(model.path, inputs, fin.cells,
                              (model.metadata.get("periods") or {}).get("train"))
    ds, cell_fields = forecast_dataset(prob, inputs=inputs, static=static, normal=normal,
                                       issue_time=issue_time,
                                       thresholds=ctx.config.thresholds.as_list())
    ds.attrs.update({
        "area": ctx.config.name, "area_name": ctx.config.title, "model_version": model.version,
        "thresholds": json.dumps(ctx.config.thresholds.model_dump()),
        "issue_time": issue_time.isoformat(),
        "driver_forecast": "persistence" if "forecast" in getattr(inputs, "proxies", {})
        else "forecast",
    })
    explain = contribution_explainer(model, fin)
    depth = np.full(inputs.grid.ny * inputs.grid.nx, np.nan, "float32")
    depth[fin.cells] = fin.groundwater_depth
    warnings = warning_areas(ds, inputs.places(), inputs.grid, area_name=ctx.config.title,
                             area_id=ctx.config.name, explain=explain,
                             drivers=inputs.forecast(issue_time.to_datetime64()),
                             dike_crest=cell_fields["dike_crest"], groundwater_depth=depth)
    status = made_status(ctx, issue_time, health, message, generated_at)
    folder = write_forecast(ctx, ds, warnings, status,
                            proxies=getattr(inputs, "proxies", {}))
    return Forecast(ds, warnings, status, folder)


def contribution_explainer(model: LoadedModel, fin: ForecastInputs):
    """``explain(lead_index, cells)``: the drivers' shares of a warning (LightGBM contributions)."""
    position = {int(c): i for i, c in enumerate(fin.cells)}

    def explain(lead_index: int, cells: np.ndarray) -> dict[str, float]:
        which = np.array([position[int(c)] for c in cells if int(c) in position])
        if len(which) == 0:
            return {"terrain": 1.0}
        contrib = model.booster.predict(fin.rows(lead_index, which), pred_contrib=True)
        return group_contributions(contrib, FEATURES, FEATURE_GROUPS)

    return explain

