"""A forecast's products in memory and on disk: written to a new folder and switched
in atomically (``forecasts/<issue>/``), loaded back, and its run status."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from wetindex import jsonutil
from wetindex.atomicdir import fresh_dir, swap, write_text
from wetindex.forecast_io import open_forecast, write_forecast_grids
from wetindex.grid import AreaGrid
from wetindex.stages.context import AreaContext
from wetindex.warnings import InputHealth, RunStatus, WarningArea


@dataclass
class Forecast:
    """A forecast run's products in memory and on disk."""

    dataset: xr.Dataset
    warnings: list[WarningArea]
    status: RunStatus
    folder: Path


def made_status(ctx: AreaContext, issue_time: pd.Timestamp, health: list[InputHealth],
                message: str = "", generated_at: datetime | None = None) -> RunStatus:
    """The status of a forecast that was made at ``issue_time`` from inputs of ``health``."""
    issued = issue_time.to_pydatetime().replace(tzinfo=UTC)
    return RunStatus(
        area_name=ctx.config.title, issue_time=issued,
        generated_at=generated_at or datetime.now(UTC),
        next_update=issued + timedelta(hours=ctx.config.forecast.issue_every_h),
        inputs=health, forecast_ok=True, message=message)


def write_forecast(ctx: AreaContext, ds: xr.Dataset, warnings: list[WarningArea],
                   status: RunStatus, proxies: dict[str, str] | None = None) -> Path:
    """The forecast's files (:mod:`wetindex.forecast_io`), warnings and status JSON."""
    issue = pd.Timestamp(ds["issue_time"].values)
    final = ctx.area_dir / "forecasts" / f"{issue:%Y%m%dT%H%MZ}"
    tmp = fresh_dir(final)
    # 8-bit GeoTIFFs of the fractions (codes 0–200, 255 unknown) and forecast.nc's levels
    write_forecast_grids(tmp, ds)
    geo = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": w.geometry,
         "properties": {k: v for k, v in w.to_dict().items() if k != "geometry"}}
        for w in warnings]}
    (tmp / "warnings.geojson").write_text(jsonutil.dumps(geo, ensure_ascii=False))
    status_dict = status_to_dict(status)
    # inputs stood in for by a documented proxy (e.g. a persistence forecast)
    status_dict["proxies"] = dict(proxies or {})
    status_dict["model_version"] = ds.attrs.get("model_version")
    status_dict["forecast_method"] = ds.attrs.get("forecast_method", "learned")
    if ds.attrs.get("method_note"):  # the physical forecast says what it is in plain words
        status_dict["method_note"] = ds.attrs["method_note"]
        status_dict["method_reason"] = ds.attrs.get("method_reason", "")
    (tmp / "status.json").write_text(jsonutil.dumps(status_dict, indent=2))
    (tmp / "config.yaml").write_text(ctx.config.resolved_yaml())
    swap(tmp, final)
    write_text(final.parent / "LATEST", final.name + "\n")
    return final


def status_to_dict(status: RunStatus) -> dict[str, Any]:
    def iso(t):
        return t.isoformat() if t else None

    return {
        "area_name": status.area_name, "issue_time": iso(status.issue_time),
        "generated_at": iso(status.generated_at), "next_update": iso(status.next_update),
        "forecast_ok": status.forecast_ok, "healthy": status.healthy, "message": status.message,
        "inputs": [{"name": i.name, "status": i.status, "last_time": iso(i.last_time),
                    "detail": i.detail} for i in status.inputs],
    }


def parse_utc(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def load_forecast(folder: Path, grid: AreaGrid) -> Forecast:
    """A forecast written by :func:`write_forecast`, back in memory on ``grid``."""
    ds = open_forecast(folder, grid)  # lazy: readers take a lead or a window at a time
    geo = json.loads((folder / "warnings.geojson").read_text())
    warnings = []
    for f in geo["features"]:
        p = dict(f["properties"])
        p.pop("level_name", None)
        for k in ("onset", "expires", "peak_time"):
            p[k] = datetime.fromisoformat(p[k])
        warnings.append(WarningArea(geometry=f["geometry"], **p))
    st = json.loads((folder / "status.json").read_text())
    status = RunStatus(
        area_name=st["area_name"], issue_time=parse_utc(st["issue_time"]),
        generated_at=parse_utc(st["generated_at"]), next_update=parse_utc(st["next_update"]),
        inputs=[InputHealth(i["name"], i["status"], parse_utc(i["last_time"]), i["detail"])
                for i in st["inputs"]],
        forecast_ok=st["forecast_ok"], message=st["message"])
    return Forecast(ds, warnings, status, folder)
