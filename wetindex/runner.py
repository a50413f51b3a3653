"""Running an area's stages one by one, resuming from what is done; its health.

``wetindex run STAGE --area NAME`` and the Prefect flows use :class:`AreaRun`. Each
stage's output is keyed by its inputs, so a rerun after a failure skips what is
already done and redoes what changed:

- ``static``: the Zarr cube keyed by the terrain (see :func:`pipeline.build_static`);
- ``history``: a summary of the harmonised series and labels, keyed by the input files;
- ``train``: the latest model is reused when its ``inputs_key`` equals the current one;
- ``forecast``: ``forecasts/<issue>/run.json`` holds the model version and inputs key;
- ``publish``: ``forecasts/<issue>/published.json`` names the site release made from it;
- ``alerts``: always runs; the outbox's idempotency keys make a rerun send nothing twice.

Outputs are written under temporary names and switched in (no half-written output).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from wetindex import pipeline
from wetindex.grid import AreaGrid
from wetindex.model.artifacts import LoadedModel, ModelArtifactError, load_model
from wetindex.sources.base import InputMissingError
from wetindex.warnings import InputHealth, RunStatus, WarningArea

log = logging.getLogger(__name__)

STAGES: tuple[str, ...] = ("static", "history", "train", "forecast", "publish", "alerts")


class StageError(RuntimeError):
    """A stage that cannot run, with what to do first."""


@dataclass
class StageResult:
    stage: str
    reused: bool
    summary: str
    seconds: float


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _utc(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def load_forecast(folder: Path, grid: AreaGrid) -> pipeline.Forecast:
    """A forecast written by :func:`pipeline.write_forecast`, back in memory on ``grid``."""
    ds = xr.load_dataset(folder / "forecast.nc", decode_coords="all")
    ds = ds.rio.write_crs(grid.crs).rio.write_transform(grid.transform)
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
        area_name=st["area_name"], issue_time=_utc(st["issue_time"]),
        generated_at=_utc(st["generated_at"]), next_update=_utc(st["next_update"]),
        inputs=[InputHealth(i["name"], i["status"], _utc(i["last_time"]), i["detail"])
                for i in st["inputs"]],
        forecast_ok=st["forecast_ok"], message=st["message"])
    return pipeline.Forecast(ds, warnings, status, folder)


class AreaRun:
    """The stages of one area, run on demand with their inputs computed once."""

    def __init__(self, ctx: pipeline.AreaContext, issue_time: pd.Timestamp | None = None):
        self.ctx = ctx
        if issue_time is not None:
            issue_time = pd.Timestamp(issue_time)
            if issue_time.tzinfo is not None:  # times are UTC, stored tz-naive
                issue_time = issue_time.tz_convert("UTC").tz_localize(None)
        self.issue_time = issue_time
        self._model: LoadedModel | None = None
        self._products: pipeline.Forecast | None = None

    @cached_property
    def inputs(self):
        return pipeline.area_inputs(self.ctx)

    @cached_property
    def key(self) -> str:
        return pipeline.inputs_key(self.ctx, self.inputs)

    @cached_property
    def static(self) -> xr.Dataset:
        return pipeline.build_static(self.ctx, self.inputs)

    # ---- stages ---------------------------------------------------------------------
    def run(self, stage: str) -> StageResult:
        if stage not in STAGES:
            raise StageError(f"unknown stage {stage!r}; one of {', '.join(STAGES)} or 'all'")
        start = time.perf_counter()
        reused, summary = getattr(self, f"_{stage}")()
        return StageResult(stage, reused, summary, time.perf_counter() - start)

    def run_all(self) -> list[StageResult]:
        return [self.run(stage) for stage in STAGES]

    def _static(self) -> tuple[bool, str]:
        folder = self.ctx.area_dir / "static"
        before = set(folder.glob("*.zarr")) if folder.exists() else set()
        static = self.static
        after = set(folder.glob("*.zarr")) - before
        return not after, (f"{len(static.data_vars)} static features on "
                           f"{static.sizes['y']} × {static.sizes['x']} cells")

    def _history(self) -> tuple[bool, str]:
        marker = self.ctx.area_dir / "history" / f"{self.key}.json"
        done = _read_json(marker)
        if done:
            return True, done["summary"]
        issues = self.inputs.issue_times()
        end = pd.Timestamp(self.inputs.observed_end())
        obs = self.inputs.observed(issues[0].to_datetime64(), end.to_datetime64())
        gaps = {n: int(obs[n].isnull().sum()) for n in ("rain", "sea_level")}
        summary = (f"observations {pd.Timestamp(obs['time'].values[0])} – {end} "
                   f"({obs.sizes['time']} h, missing hours {gaps}), {len(issues)} issue times")
        proxies = getattr(self.inputs, "proxies", {})
        if proxies:
            summary += "; proxies: " + "; ".join(proxies.values())
        _write_json_atomic(marker, {"summary": summary, "key": self.key})
        return False, summary

    def _train(self) -> tuple[bool, str]:
        latest = self._latest_model()
        if latest is not None and latest.metadata.get("inputs_key") == self.key:
            self._model = latest
            return True, f"model {latest.version} is up to date with the inputs"
        try:  # fail before the long part when there is nothing to learn from
            self.inputs.labels(self.inputs.issue_times()[:1].values, np.array([0]))
        except InputMissingError as err:
            raise StageError(f"cannot train: {err}") from None
        self._model = pipeline.train_stage(self.ctx, self.inputs, self.static, self.key)
        return False, f"model {self._model.version} saved to {self._model.path}"

    def _latest_model(self) -> LoadedModel | None:
        try:
            return load_model(self.ctx.models_root, self.ctx.config.name)
        except (FileNotFoundError, OSError, ModelArtifactError):
            return None

    @property
    def model(self) -> LoadedModel:
        if self._model is None:
            self._model = self._latest_model()
            if self._model is None:
                raise StageError(f"no trained model for area {self.ctx.config.name!r}; run "
                                 f"'wetindex run train --area {self.ctx.config.name}' first")
        return self._model

    def _issue(self) -> pd.Timestamp:
        return self.issue_time if self.issue_time is not None else \
            pipeline.latest_issue_time(self.inputs)

    def _forecast_key(self, issue: pd.Timestamp) -> str:
        return pipeline._key(self.model.version, self.key, issue.isoformat())

    def _forecast_stage(self) -> tuple[bool, str]:
        issue = self._issue()
        folder = self.ctx.area_dir / "forecasts" / f"{issue:%Y%m%dT%H%MZ}"
        key = self._forecast_key(issue)
        done = _read_json(folder / "run.json")
        if done and done.get("key") == key and (folder / "forecast.nc").exists():
            self._products = load_forecast(folder, self.inputs.grid)
            reused = True
        else:
            self._products = pipeline.forecast_stage(self.ctx, self.inputs, self.static,
                                                     self.model, issue)
            _write_json_atomic(folder / "run.json", {"key": key, "model": self.model.version})
            reused = False
        fc = self._products
        return reused, (f"issued {issue}, {len(fc.warnings)} warning(s), max probability "
                        f"{float(fc.dataset['probability'].max()):.2f}; {fc.folder}")

    _forecast = _forecast_stage

    def forecast(self) -> pipeline.Forecast:
        """This run's forecast products (made, or loaded when already made)."""
        if self._products is None:
            self._forecast_stage()
        return self._products

    def _publish(self) -> tuple[bool, str]:
        fc = self.forecast()
        marker = fc.folder / "published.json"
        done = _read_json(marker)
        key = self._forecast_key(self._issue())
        if done and done.get("key") == key and Path(done["release"]).exists():
            return True, f"already published as {done['release']}"
        pub = pipeline.publish_stage(self.ctx, self.inputs, self.static, fc, self.model)
        _write_json_atomic(marker, {"key": key, "release": str(pub.release)})
        return False, f"site {pub.site_root / 'current'}, feed {pub.feed_dir / 'atom.xml'}"

    def _alerts(self) -> tuple[bool, str]:
        from wetindex.alerts.crypto import MissingSecretKeyError
        from wetindex.alerts.delivery import DeliveryConfigError

        try:  # a missing key or relay password is the operator's to fix: say so, no traceback
            res = pipeline.alerts_stage(self.ctx, self.inputs, self.forecast())
        except (MissingSecretKeyError, DeliveryConfigError) as err:
            raise StageError(str(err)) from None
        held = f", {len(res.held)} warning(s) kept in force (forecast not fresh)" \
            if res.held else ""
        return False, (f"{res.decisions} decision(s), {res.sent} sent, {res.pending} pending, "
                       f"{res.failed} failed{held}")


# --------------------------------------------------------------------------- health

def area_status(ctx: pipeline.AreaContext, now: datetime | None = None) -> dict[str, Any]:
    """Paths, last forecast and its age, input freshness, model, deliveries; ``stale``."""
    now = now or datetime.now(UTC)
    area = ctx.area_dir
    out: dict[str, Any] = {"area": ctx.config.name, "title": ctx.config.title,
                           "checked_at": now.isoformat()}
    latest = area / "forecasts" / "LATEST"
    forecast: dict[str, Any] = {"path": None, "issue_time": None, "age_h": None}
    if latest.exists():
        folder = latest.parent / latest.read_text().strip()
        st = _read_json(folder / "status.json") or {}
        issued = _utc(st.get("issue_time"))
        forecast = {"path": str(folder), "issue_time": st.get("issue_time"),
                    "age_h": round((now - issued) / timedelta(hours=1), 2) if issued else None,
                    "healthy": st.get("healthy"), "inputs": st.get("inputs", []),
                    "proxies": st.get("proxies", {}), "model_version": st.get("model_version")}
    limit = ctx.config.forecast.stale_after_h
    forecast["stale_after_h"] = limit
    forecast["stale"] = forecast["age_h"] is None or forecast["age_h"] > limit
    out["forecast"] = forecast
    try:
        model = load_model(ctx.models_root, ctx.config.name)
        ev = model.metadata.get("evaluation") or {}
        scores = ev.get("scores", {})
        out["model"] = {"version": model.version, "path": str(model.path),
                        "lead_bins": ev.get("lead_bins"),
                        "brier_skill": {m: s.get("brier_skill") for m, s in scores.items()}}
    except (FileNotFoundError, OSError, KeyError, ModelArtifactError):
        out["model"] = None
    from wetindex.alerts.area import delivery_status

    out["deliveries"] = delivery_status(ctx)
    out["paths"] = {"static": str(area / "static"), "forecasts": str(area / "forecasts"),
                    "models": str(ctx.models_root / ctx.config.name),
                    "site": str(area / "site" / "current"), "feed": str(area / "feed")}
    out["stale"] = forecast["stale"]
    return out


# --------------------------------------------------------------------------- housekeeping

def housekeeping(ctx: pipeline.AreaContext, now: datetime | None = None) -> dict[str, Any]:
    """Delete forecasts older than the retention period (never the latest) and cached
    downloads unused for ``cache_max_age_days``; retry pending alert deliveries."""
    now = now or datetime.now(UTC)
    sched = ctx.config.schedule
    area = ctx.area_dir
    removed: list[str] = []
    forecasts = area / "forecasts"
    latest = (forecasts / "LATEST").read_text().strip() if (forecasts / "LATEST").exists() \
        else None
    cutoff = now - timedelta(days=sched.retention_days)
    for folder in sorted(forecasts.glob("2*")) if forecasts.exists() else []:
        try:
            issued = datetime.strptime(folder.name, "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
        except ValueError:
            continue
        if issued < cutoff and folder.name != latest:
            shutil.rmtree(folder)
            removed.append(str(folder))
    pruned = 0
    cache = area / "cache"
    age = timedelta(days=sched.cache_max_age_days).total_seconds()
    for f in cache.rglob("*") if cache.exists() else []:
        if f.is_file() and now.timestamp() - f.stat().st_mtime > age:
            f.unlink()
            pruned += 1
    from wetindex.alerts.area import alerts_housekeeping

    # the same delivery as a run's; then unconfirmed sign-ups and old messages go
    return {"forecasts_removed": removed, "cache_files_pruned": pruned,
            "alerts": alerts_housekeeping(ctx, now)}
