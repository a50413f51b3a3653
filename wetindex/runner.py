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

from wetindex import freshness, jsonutil, pipeline
from wetindex.forecast_io import open_forecast
from wetindex.grid import AreaGrid
from wetindex.model.artifacts import LoadedModel, ModelArtifactError, load_model
from wetindex.modelgate import gate_report, gate_summary, model_passes_gate
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
    tmp.write_text(jsonutil.dumps(data, indent=2))
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
        area_name=st["area_name"], issue_time=_utc(st["issue_time"]),
        generated_at=_utc(st["generated_at"]), next_update=_utc(st["next_update"]),
        inputs=[InputHealth(i["name"], i["status"], _utc(i["last_time"]), i["detail"])
                for i in st["inputs"]],
        forecast_ok=st["forecast_ok"], message=st["message"])
    return pipeline.Forecast(ds, warnings, status, folder)


class AreaRun:
    """The stages of one area, run on demand with their inputs computed once."""

    def __init__(self, ctx: pipeline.AreaContext, issue_time: pd.Timestamp | None = None,
                 method: str | None = None, now: datetime | None = None,
                 force_model: bool = False):
        self.ctx = ctx
        #: auto | physical | learned; None: the area's forecast.method
        self.method = method or ctx.config.forecast.method
        self.method_reason = ""
        self.now = now or freshness.utc_now()
        #: put a model live that does not pass the gate (``--force``/``training.force_model``)
        self.force_model = force_model or ctx.config.training.force_model
        self.freshness: freshness.Freshness | None = None
        self._owed: pd.Timestamp | None = None
        if issue_time is not None:
            issue_time = pd.Timestamp(issue_time)
            if issue_time.tzinfo is not None:  # times are UTC, stored tz-naive
                issue_time = issue_time.tz_convert("UTC").tz_localize(None)
        self.issue_time = issue_time
        self._model: LoadedModel | None = None
        self._products: pipeline.Forecast | None = None

    @cached_property
    def inputs(self):
        return pipeline.area_inputs(self.ctx, now=self.issue_time)

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
            if self.method == "learned":
                raise StageError(f"cannot train: {err}") from None
            return False, (f"skipped: nothing to train on ({err}); the physically based "
                           "forecast is used until observed water is added")
        self._model = pipeline.train_stage(self.ctx, self.inputs, self.static, self.key)
        return False, f"model {self._model.version} saved to {self._model.path}"

    def _latest_model(self) -> LoadedModel | None:
        try:
            return load_model(self.ctx.models_root, self.ctx.config.name)
        except (FileNotFoundError, OSError, ModelArtifactError):
            return None

    @property
    def forecast_model(self) -> LoadedModel | None:
        """The learned model when it is live, else ``None`` (the physical forecast)."""
        from wetindex.physics.selection import choose_method

        latest = self._model if self._model is not None else self._latest_model()
        try:
            chosen, self.method_reason = choose_method(self.method, latest)
        except ValueError as err:
            raise StageError(str(err)) from None
        if chosen == "physical":
            return None
        if not (self.force_model or model_passes_gate(latest.metadata)):
            raise StageError(f"model {latest.version} is not put live: "
                             f"{gate_summary(latest.metadata)}; retrain it, use --method "
                             "physical, or override with --force (at your own risk)")
        self._model = latest
        return latest

    def _issue(self) -> pd.Timestamp:
        """The issue time asked for, else the slot owed at ``now`` (never moved back)."""
        if self.issue_time is not None:
            return self.issue_time
        if self._owed is None:
            owed = freshness.owed_issue_time(self.now, self.ctx.config.forecast.issue_every_h)
            report = freshness.assess(self.inputs, owed,
                                      freshness.policy_hours(self.ctx.config))
            self.freshness = report
            if report.state == "refused":
                raise freshness.StaleInputsError(report)
            if report.state == "degraded":
                freshness.continue_drivers(self.inputs, owed, report)
            self._owed = owed
        return self._owed

    def _forecast_key(self, issue: pd.Timestamp) -> str:
        from wetindex.physics.forecast import PHYSICAL_VERSION

        model = self.forecast_model
        state = self.freshness.to_dict()["ends"] if self.freshness else None
        return pipeline._key(model.version if model else PHYSICAL_VERSION, self.key,
                             issue.isoformat(), state)

    def _forecast_stage(self) -> tuple[bool, str]:
        self.forecast_model  # noqa: B018 - a model the gate refuses is said before freshness
        issue = self._issue()
        from wetindex.atomicdir import clean_leftovers

        clean_leftovers(self.ctx.area_dir / "forecasts")  # of killed runs
        folder = self.ctx.area_dir / "forecasts" / f"{issue:%Y%m%dT%H%MZ}"
        key = self._forecast_key(issue)
        done = _read_json(folder / "run.json")
        if done and done.get("key") == key and (folder / "forecast.nc").exists():
            self._products = load_forecast(folder, self.inputs.grid)
            reused = True
        else:
            model = self.forecast_model
            degraded = self.freshness is not None and self.freshness.state == "degraded"
            self._products = pipeline.forecast_stage(
                self.ctx, self.inputs, self.static, model, issue, self.method_reason,
                health=freshness.input_health(self.freshness) if degraded else None,
                message=self.freshness.message if degraded else "", generated_at=self.now)
            _write_json_atomic(folder / "run.json", {
                "key": key, "model": model.version if model else None,
                "method": "learned" if model else "physical", "reason": self.method_reason})
            (self.ctx.area_dir / "not_updated.json").unlink(missing_ok=True)
            reused = False
        fc = self._products
        method = fc.dataset.attrs.get("forecast_method", "learned")
        return reused, (f"issued {issue} ({method}), {len(fc.warnings)} warning(s), max "
                        f"probability {float(fc.dataset['probability'].max()):.2f}; {fc.folder}")

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
        pub = pipeline.publish_stage(self.ctx, self.inputs, self.static, fc, self.forecast_model)
        _write_json_atomic(marker, {"key": key, "release": str(pub.release)})
        return False, f"site {pub.site_root / 'current'}, feed {pub.feed_dir / 'atom.xml'}"

    def publish_not_updated(self, report: freshness.Freshness) -> str:
        """Republish the last forecast as "not updated since …" after a refused run.

        The site shows no forecast (never "no risk") with the reason; the feed keeps the
        warnings in force, marked not updated, and issues no all-clear; the area's
        ``not_updated.json`` makes ``wetindex status`` exit non-zero.
        """
        area = self.ctx.area_dir
        latest = area / "forecasts" / "LATEST"
        last = (latest.parent / latest.read_text().strip()) if latest.exists() else None
        since = None
        if last is not None and (last / "forecast.nc").exists():
            fc = load_forecast(last, self.inputs.grid)
            since = fc.status.issue_time
        text = (f"Not updated since {since:%Y-%m-%d %H:%M} UTC: " if since else
                "No forecast yet: ") + report.message
        _write_json_atomic(area / "not_updated.json", {
            "since": since.isoformat() if since else None, "checked_at": self.now.isoformat(),
            "message": text, "freshness": report.to_dict()})
        if since is None:
            return text
        status = RunStatus(
            area_name=fc.status.area_name, issue_time=since, generated_at=self.now,
            next_update=fc.status.next_update, inputs=freshness.input_health(report),
            forecast_ok=False, message=text)
        pipeline.publish_stage(self.ctx, self.inputs, self.static,
                               pipeline.Forecast(fc.dataset, fc.warnings, status, fc.folder),
                               self._latest_model())
        return text

    def _alerts(self) -> tuple[bool, str]:
        from wetindex.alerts.crypto import MissingSecretKeyError
        from wetindex.alerts.delivery import DeliveryConfigError

        try:  # a missing key or relay password is the operator's to fix: say so, no traceback
            res = pipeline.alerts_stage(self.ctx, self.inputs, self.forecast())
        except (MissingSecretKeyError, DeliveryConfigError) as err:
            raise StageError(str(err)) from None
        held = f", {len(res.held)} warning(s) kept in force (forecast not fresh)" \
            if res.held else ""
        skipped = (f"; SKIPPED {len(res.problems)}: " + " | ".join(res.problems)
                   if res.problems else "")
        return False, (f"{res.decisions} decision(s), {res.sent} sent, {res.pending} pending, "
                       f"{res.failed} failed{held}{skipped}")


# --------------------------------------------------------------------------- health

def area_status(ctx: pipeline.AreaContext, now: datetime | None = None) -> dict[str, Any]:
    """Paths, last forecast and its age, input freshness, model, deliveries; ``stale``."""
    now = now or freshness.utc_now()
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
                    "proxies": st.get("proxies", {}), "model_version": st.get("model_version"),
                    "forecast_method": st.get("forecast_method"),
                    "method_note": st.get("method_note")}
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
        gate = gate_report(model.metadata)  # which model is live and how it scored
        out["model"].update(passes_gate=gate["passes_gate"], gate=gate["gate"],
                            brier=gate["brier"])
    except (FileNotFoundError, OSError, KeyError, ModelArtifactError):
        out["model"] = None
    from wetindex.alerts.area import delivery_status

    out["deliveries"] = delivery_status(ctx)
    out["paths"] = {"static": str(area / "static"), "forecasts": str(area / "forecasts"),
                    "models": str(ctx.models_root / ctx.config.name),
                    "site": str(area / "site" / "current"), "feed": str(area / "feed")}
    out["stale"] = forecast["stale"]
    # a refused run after the latest forecast: the site says "not updated since …"
    refused = _read_json(area / "not_updated.json")
    issued = _utc(forecast.get("issue_time"))
    since = _utc(refused.get("since")) if refused else None
    if refused and (issued is None or since is None or since >= issued):
        out["not_updated"] = refused
        out["stale"] = True
    out["degraded"] = forecast.get("healthy") is False  # made, but with late inputs continued
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
    # the one download cache that fetch, init and live runs use (sources.live.cache_folder)
    from wetindex.sources.cache import ResponseCache
    from wetindex.sources.live import cache_folder

    pruned = ResponseCache(cache_folder(area)).prune(sched.cache_max_age_days,
                                                     now=now.timestamp())
    from wetindex.alerts.area import alerts_housekeeping

    # the same delivery as a run's; then unconfirmed sign-ups and old messages go
    return {"forecasts_removed": removed, "cache_files_pruned": pruned,
            "alerts": alerts_housekeeping(ctx, now)}
