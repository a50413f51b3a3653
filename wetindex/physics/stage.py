"""The physical forecast as a pipeline stage: the same products as the learned model's.

:func:`physical_forecast_stage` is what :func:`wetindex.stages.forecast.forecast_stage` runs
when no learned model is live: the forecast dataset, warnings, status and files in the
same place and shape, with ``forecast_method: physical`` and the plain-words note in
``status.json``, and a model card for the physical method in
``models/<area>/physical/model_card.md``.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from wetindex.atomicdir import write_text
from wetindex.normal import forecast_dataset, no_normal
from wetindex.physics import PHYSICAL_NOTE, PHYSICAL_NOTE_DA
from wetindex.physics.forecast import PHYSICAL_VERSION, PhysicalForecast, physical_forecast
from wetindex.risk import warning_areas
from wetindex.stages.inputs import input_health, latest_issue_time
from wetindex.stages.products import Forecast, made_status, write_forecast

log = logging.getLogger(__name__)


def physical_forecast_stage(ctx: Any, inputs: Any, static: xr.Dataset,
                            issue_time: pd.Timestamp | None = None, reason: str = "", *,
                            health: list | None = None, message: str = "",
                            generated_at: datetime | None = None):
    """Forecast 48 h ahead with the physical method and write the products.

    Returns a :class:`wetindex.stages.products.Forecast` (as the learned path does).
    """
    issue_time = (pd.Timestamp(issue_time) if issue_time is not None
                  else latest_issue_time(inputs))
    health = health or input_health(inputs, issue_time, ctx.config.forecast.stale_after_h)
    fc = physical_forecast(inputs, static, issue_time,
                           thresholds=ctx.config.thresholds.as_list(),
                           max_lead_h=ctx.config.forecast.max_lead_h)
    # levels from the excess water on exposed land, as for the learned model
    # (wetindex.normal): no label history gives no seasonal normal; what the forecast
    # holds at its first hour stands there now
    ds, cell_fields = forecast_dataset(
        fc.dataset["probability"], inputs=inputs, static=static,
        normal=no_normal(inputs.grid.shape), issue_time=issue_time,
        thresholds=ctx.config.thresholds.as_list(),
        chance=ctx.config.warning_chance.as_list())
    ds.attrs.update(fc.dataset.attrs)
    ds.attrs.update({
        "area": ctx.config.name, "area_name": ctx.config.title,
        "thresholds": json.dumps(ctx.config.thresholds.model_dump()),
        "warning_chance": json.dumps(ctx.config.warning_chance.model_dump()),
        "issue_time": issue_time.isoformat(), "method_reason": reason,
        "driver_forecast": "persistence" if "forecast" in getattr(inputs, "proxies", {})
        else "forecast",
    })
    warnings = warning_areas(ds, inputs.places(), inputs.grid, area_name=ctx.config.title,
                             area_id=ctx.config.name, explain=fc.explain,
                             drivers=inputs.forecast(issue_time.to_datetime64()),
                             dike_crest=cell_fields["dike_crest"],
                             groundwater_depth=np.asarray(
                                 inputs.groundwater_depth(issue_time.to_datetime64()).values,
                                 "float32").ravel())
    status = made_status(ctx, issue_time, health, message, generated_at)
    folder = write_forecast(ctx, ds, warnings, status,
                            proxies=getattr(inputs, "proxies", {}))
    _write_summary(folder, fc, reason)
    write_model_card(ctx.models_root / ctx.config.name / "physical", fc, reason)
    return Forecast(ds, warnings, status, folder)


def _write_summary(folder: Path, fc: PhysicalForecast, reason: str) -> None:
    data = {"method": "physical", "version": PHYSICAL_VERSION, "note": PHYSICAL_NOTE,
            "reason": reason, **fc.summary}
    write_text(folder / "physical.json", json.dumps(data, indent=2, default=str))


def write_model_card(folder: Path, fc: PhysicalForecast, reason: str) -> Path:
    """The physical method's model card: what it is, its drivers' spread, its dikes."""
    folder.mkdir(parents=True, exist_ok=True)
    spread = fc.summary["spread"]
    lines = [
        "# Physically based flood forecast", "", f"**{PHYSICAL_NOTE}**", "",
        f"Why it is live: {reason or 'chosen by configuration'}.", "",
        f"Rain: {fc.summary.get('rain_forecast', 'the driver forecast')}.", "",
        "## What it computes",
        "- Sea: land connected to the sea below the forecast sea level floods; dikes hold up "
        "to their crest (`wetindex.physics.sea`).",
        "- Hollows (bluespots) fill and spill from forecast rain minus infiltration and "
        "evaporation, routed along the flow network (`wetindex.physics.pluvial`).",
        "- Streams rise over low cells (height above drainage) from upstream rain; the water "
        "table reaches the surface where the groundwater forecast says so "
        "(`wetindex.physics.streams`).",
        f"- Probabilities: an ensemble of {fc.summary['members']} perturbed driver series "
        "whose spread grows with lead (`wetindex.physics.uncertainty`).", "",
        "## Spread of the driver forecasts by lead",
        f"- Sources: {', '.join(f'{k}: {v}' for k, v in spread['source'].items())}",
        f"- Sea level [m] at 1, 12, 24, 48 h: {_at(spread['sea_level_m'])}",
        f"- Accumulated rain [mm] at 1, 12, 24, 48 h: {_at(spread['rain_accumulated_mm'])}",
        "", "## Dikes in the latest forecast",
    ]
    for d in fc.summary.get("dikes", []) or [{"area": None}]:
        if d["area"] is None:
            lines.append("- No area behind a dike.")
            continue
        lines.append(f"- Protected area {d['area']} ({d['cells']} cells): crest {d['crest_m']} "
                     f"m, forecast high water {d['max_forecast_m']} m at "
                     f"{d['high_water_time']}, margin {d['margin_m']} m, overtopping "
                     f"probability {d['overtopping_probability']:.0%}")
    lines += ["", "## When the learned model takes over",
              "- `forecast.method: auto` uses the learned model once one, trained on this "
              "area's observed water, has passed its gate.",
              "- Before relying on it, compare both on the area's own events "
              "(`wetindex methods --area NAME`; `wetindex.physics.compare`): at least 3 "
              "verified events of each kind, none missed that the physical forecast warns, "
              "and no more false warnings."]
    lines += ["", "## Known limits",
              "- Not verified against observed water in this area: no labels yet.",
              "- Bathtub flooding behind an overtopped dike (the volume over the crest is not "
              "limited): on the safe side.",
              "- Soil and channel parameters are documented defaults, not calibrated here.",
              "- Rain and sea level are area-uniform series in this version."]
    write_text(folder / "model_card.md", "\n".join(lines) + "\n")
    return folder / "model_card.md"


def _at(values: list[float]) -> str:
    picks = [values[i - 1] for i in (1, 12, 24, 48) if i <= len(values)]
    return ", ".join(f"{v:.2f}" for v in picks)


def physical_scorecard(reason: str = "") -> dict[str, Any]:
    """What the site's About page shows while the physical forecast is live."""
    return {"model_version": PHYSICAL_VERSION, "evaluated_at": None, "lead_bins": [],
            "scores": {}, "method": "physical", "reason": reason,
            "method_note": {"en": PHYSICAL_NOTE, "da": PHYSICAL_NOTE_DA}}
