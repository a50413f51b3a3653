"""The forecast stage: 48 h of probabilities, levels and warnings from ``issue_time``."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pandas as pd
import xarray as xr

from wetindex.features.stack import FEATURE_GROUPS, FEATURES
from wetindex.forecast_io import open_forecast
from wetindex.forecast_stream import learned_forecast, warnings_from_codes
from wetindex.model.artifacts import LoadedModel
from wetindex.model.predict import ForecastInputs, gather_inputs
from wetindex.physics.stage import physical_forecast_stage
from wetindex.risk import group_contributions
from wetindex.sources.base import AreaInputs
from wetindex.stages.cluster import dask_client
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
    fin = gather_inputs(inputs, static, issue_time.to_datetime64(), model.screen,
                        rows_per_block=True)  # static rows made per streamed block
    attrs = {
        "area": ctx.config.name, "area_name": ctx.config.title, "model_version": model.version,
        "thresholds": json.dumps(ctx.config.thresholds.model_dump()),
        "warning_chance": json.dumps(ctx.config.warning_chance.model_dump()),
        "issue_time": issue_time.isoformat(),
        "driver_forecast": "persistence" if "forecast" in getattr(inputs, "proxies", {})
        else "forecast",
    }
    with dask_client(ctx) as client:  # in blocks of rows, written as 8-bit codes
        ds, cell_fields = learned_forecast(
            model, inputs, static, fin, issue_time, forecasts_dir=ctx.area_dir / "forecasts",
            thresholds=ctx.config.thresholds.as_list(),
            chance=ctx.config.warning_chance.as_list(), attrs=attrs, client=client,
            chunk_cells=ctx.config.dask.chunk_cells)
    ds.attrs.update(attrs)
    explain = contribution_explainer(model, fin)
    depth = np.full(inputs.grid.ny * inputs.grid.nx, np.nan, "float32")
    depth[fin.cells] = fin.groundwater_depth
    warnings = warnings_from_codes(ds, inputs.places(), inputs.grid, area_name=ctx.config.title,
                                   area_id=ctx.config.name, explain=explain,
                                   drivers=inputs.forecast(issue_time.to_datetime64()),
                                   dike_crest=cell_fields["dike_crest"],
                                   groundwater_depth=depth)
    status = made_status(ctx, issue_time, health, message, generated_at)
    folder = write_forecast(ctx, ds, warnings, status,
                            proxies=getattr(inputs, "proxies", {}))
    # the written cube, from where it now is (its files were moved in)
    return Forecast(open_forecast(folder, inputs.grid), warnings, status, folder)


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

