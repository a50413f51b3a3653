"""Running an area's stages one by one, resuming from what is done; its health.

``wetindex run STAGE --area NAME`` and the Prefect flows use :class:`AreaRun`. Each
stage's output is keyed by its inputs, so a rerun after a failure skips what is
already done and redoes what changed:

- ``static``: the Zarr cube keyed by the terrain (see :func:`wetindex.stages.static.build_static`);
- ``history``: a summary of the harmonised series and labels, keyed by the input files;
- ``train``: the latest model is reused when its ``inputs_key`` equals the current one;
- ``forecast``: ``forecasts/<issue>/run.json`` holds the model version and inputs key;
- ``publish``: ``forecasts/<issue>/published.json`` names the site release made from it;
- ``alerts``: always runs; the outbox's idempotency keys make a rerun send nothing twice.

Outputs are written under temporary names and switched in (no half-written output).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from wetindex import freshness
from wetindex.alerts.crypto import MissingSecretKeyError
from wetindex.alerts.delivery import DeliveryConfigError
from wetindex.atomicdir import clean_leftovers, read_json, write_json
from wetindex.model.artifacts import LoadedModel, ModelArtifactError, load_model
from wetindex.modelgate import gate_summary, model_passes_gate
from wetindex.physics.forecast import PHYSICAL_VERSION
from wetindex.physics.selection import choose_method
from wetindex.sources.base import InputMissingError
from wetindex.stages.alerts import AlertsResult, alerts_stage
from wetindex.stages.context import AreaContext, artifact_key
from wetindex.stages.forecast import forecast_stage
from wetindex.stages.inputs import area_inputs, inputs_key
from wetindex.stages.products import Forecast, load_forecast
from wetindex.stages.publish import publish_stage
from wetindex.stages.static import build_static
from wetindex.stages.train import train_stage
from wetindex.warnings import RunStatus

#: The stages in the order ``run all`` runs them.
STAGES: tuple[str, ...] = ("static", "history", "train", "forecast", "publish", "alerts")


class StageError(RuntimeError):
    """A stage that cannot run, with what to do first."""


@dataclass
class StageResult:
    """What one stage did: reused its stored output or made it, in a line, in how long."""

    stage: str
    reused: bool
    summary: str
    seconds: float


@dataclass
class DemoResult:
    """Where the demo flow's products are."""

    forecast: Path
    site: Path
    release: Path
    feed: Path
    alerts: AlertsResult
    model: Path


class AreaRun:
    """The stages of one area, run on demand with their inputs computed once."""

    def __init__(self, ctx: AreaContext, issue_time: pd.Timestamp | None = None,
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
        self._products: Forecast | None = None

    @cached_property
    def inputs(self):
        return area_inputs(self.ctx, now=self.issue_time)

    @cached_property
    def key(self) -> str:
        return inputs_key(self.ctx, self.inputs)

    @cached_property
    def static(self) -> xr.Dataset:
        return build_static(self.ctx, self.inputs)

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
        done = read_json(marker)
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
        write_json(marker, {"summary": summary, "key": self.key})
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
        self._model = train_stage(self.ctx, self.inputs, self.static, self.key)
        return False, f"model {self._model.version} saved to {self._model.path}"

    def _latest_model(self) -> LoadedModel | None:
        try:
            return load_model(self.ctx.models_root, self.ctx.config.name)
        except (FileNotFoundError, OSError, ModelArtifactError):
            return None

    @property
    def forecast_model(self) -> LoadedModel | None:
        """The learned model when it is live, else ``None`` (the physical forecast)."""
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
        model = self.forecast_model
        state = self.freshness.to_dict()["ends"] if self.freshness else None
        return artifact_key(model.version if model else PHYSICAL_VERSION, self.key,
                             issue.isoformat(), state)

    def _forecast_stage(self) -> tuple[bool, str]:
        self.forecast_model  # noqa: B018 - a model the gate refuses is said before freshness
        issue = self._issue()
        clean_leftovers(self.ctx.area_dir / "forecasts")  # of killed runs
        folder = self.ctx.area_dir / "forecasts" / f"{issue:%Y%m%dT%H%MZ}"
        key = self._forecast_key(issue)
        done = read_json(folder / "run.json")
        if done and done.get("key") == key and (folder / "forecast.nc").exists():
            self._products = load_forecast(folder, self.inputs.grid)
            reused = True
        else:
            model = self.forecast_model
            degraded = self.freshness is not None and self.freshness.state == "degraded"
            self._products = forecast_stage(
                self.ctx, self.inputs, self.static, model, issue, self.method_reason,
                health=freshness.input_health(self.freshness) if degraded else None,
                message=self.freshness.message if degraded else "", generated_at=self.now)
            write_json(folder / "run.json", {
                "key": key, "model": model.version if model else None,
                "method": "learned" if model else "physical", "reason": self.method_reason})
            (self.ctx.area_dir / "not_updated.json").unlink(missing_ok=True)
            reused = False
        fc = self._products
        method = fc.dataset.attrs.get("forecast_method", "learned")
        return reused, (f"issued {issue} ({method}), {len(fc.warnings)} warning(s), max "
                        f"probability {float(fc.dataset['probability'].max()):.2f}; {fc.folder}")

    _forecast = _forecast_stage

    def forecast(self) -> Forecast:
        """This run's forecast products (made, or loaded when already made)."""
        if self._products is None:
            self._forecast_stage()
        return self._products

    def _publish(self) -> tuple[bool, str]:
        fc = self.forecast()
        marker = fc.folder / "published.json"
        done = read_json(marker)
        key = self._forecast_key(self._issue())
        if done and done.get("key") == key and Path(done["release"]).exists():
            return True, f"already published as {done['release']}"
        pub = publish_stage(self.ctx, self.inputs, self.static, fc, self.forecast_model)
        write_json(marker, {"key": key, "release": str(pub.release)})
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
        write_json(area / "not_updated.json", {
            "since": since.isoformat() if since else None, "checked_at": self.now.isoformat(),
            "message": text, "freshness": report.to_dict()})
        if since is None:
            return text
        status = RunStatus(
            area_name=fc.status.area_name, issue_time=since, generated_at=self.now,
            next_update=fc.status.next_update, inputs=freshness.input_health(report),
            forecast_ok=False, message=text)
        publish_stage(self.ctx, self.inputs, self.static,
                      Forecast(fc.dataset, fc.warnings, status, fc.folder),
                      self._latest_model())
        return text

    def _alerts(self) -> tuple[bool, str]:
        try:  # a missing key or relay password is the operator's to fix: say so, no traceback
            res = alerts_stage(self.ctx, self.inputs, self.forecast())
        except (MissingSecretKeyError, DeliveryConfigError) as err:
            raise StageError(str(err)) from None
        held = f", {len(res.held)} warning(s) kept in force (forecast not fresh)" \
            if res.held else ""
        skipped = (f"; SKIPPED {len(res.problems)}: " + " | ".join(res.problems)
                   if res.problems else "")
        return False, (f"{res.decisions} decision(s), {res.sent} sent, {res.pending} pending, "
                       f"{res.failed} failed{held}{skipped}")

