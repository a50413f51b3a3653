"""The stages of a run, as importable functions.

Prefect flows (``pipelines/``), the CLI and the notebooks call these; each stage
reads its inputs from and writes its outputs to the area's folder, written to a
temporary name and switched in atomically, so a crash never leaves a half-written
output visible and a rerun resumes from what is done.

Layout of an area's folder (``var/<area>/``)::

    world/            the demo world (demo areas only), keyed by its configuration
    static/<key>.zarr  static terrain features, keyed by the inputs' hash
    forecasts/<issue>/ forecast.nc, geotiff/, warnings.json, status.json, config.yaml
    site/             releases/<stamp>/ and the 'current' symlink
    feed/             CAP 1.2 messages and atom.xml
    alerts/           outbox.sqlite, mail/ (what the demo mail server received)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from wetindex import jsonutil
from wetindex.config import AreaConfig
from wetindex.features.stack import FEATURE_GROUPS, FEATURES
from wetindex.features.terrain import static_features
from wetindex.forecast_io import open_forecast, write_forecast_grids
from wetindex.forecast_stream import learned_forecast, warnings_from_codes
from wetindex.grid import AreaGrid
from wetindex.model.artifacts import LoadedModel, load_model, save_model
from wetindex.model.evaluate import evaluate
from wetindex.model.predict import ForecastInputs, gather_inputs, predict_probability
from wetindex.model.report import site_scorecard
from wetindex.model.screen import screened_cells
from wetindex.model.train import load_model_config, train
from wetindex.normal import normal_for_model
from wetindex.risk import group_contributions
from wetindex.sources.base import AreaInputs, InputMissingError
from wetindex.warnings import InputHealth, RunStatus, WarningArea

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AreaContext:
    """Where an area's configuration, resources, data products and models live.

    ``root`` is the project folder with the resources (``models/configs``, ``web/``);
    outputs go under ``output_root`` (default: ``root``): ``var/<area>/`` and
    ``models/<area>/``.
    """

    config: AreaConfig
    root: Path
    output_root: Path | None = None

    @property
    def area_dir(self) -> Path:
        return self.config.area_dir(self.output_root or self.root)

    @property
    def models_root(self) -> Path:
        return (self.output_root or self.root) / "models"

    @property
    def web_dir(self) -> Path:
        return self.root / "web"


def _key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _atomic_dir(final: Path) -> Path:
    """A fresh temporary folder beside ``final``; :func:`_commit_dir` switches it in."""
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def _commit_dir(tmp: Path, final: Path) -> Path:
    """Switch ``tmp`` in as ``final`` atomically: a reader sees the old or the new folder.

    The old folder used to be deleted before the rename, so a crash between the two
    left no folder at all. :func:`wetindex.atomicdir.swap` exchanges them in one step.
    """
    from wetindex.atomicdir import swap

    return swap(tmp, final)


# --------------------------------------------------------------------------- inputs

def demo_world(ctx: AreaContext):
    """Build the demo world, or load it when the same configuration was built before."""
    from wetindex.demo import DemoWorld, DemoWorldConfig, build_demo_world

    demo = ctx.config.demo
    cfg = DemoWorldConfig(size_m=demo.size_m, cell_size=demo.cell_size, years=demo.years,
                          seed=demo.seed, start=demo.start, storm_ahead_h=demo.storm_ahead_h)
    # one world whatever the start: it is only moved in time (wetindex.demo.world)
    final = ctx.area_dir / "world" / _key(demo.model_dump(exclude={"start"}), "anchored")
    if final.exists():
        return DemoWorld.load(final).shifted(demo.start)
    world = build_demo_world(cfg)
    tmp = _atomic_dir(final)
    world.save(tmp)
    _commit_dir(tmp, final)
    return world


def area_inputs(ctx: AreaContext, now: Any = None) -> AreaInputs:
    """The inputs of an area through the common interface (``now``: a live area's as-of
    time, default the current hour)."""
    if ctx.config.source == "demo":
        from wetindex.sources.demo import DemoInputs

        return DemoInputs(demo_world(ctx))
    from wetindex.model.label_store import with_label_store

    if ctx.config.source == "local":
        from wetindex.sources.local import LocalInputs

        return with_label_store(LocalInputs(ctx.config, ctx.root), ctx.area_dir)
    if ctx.config.source == "live":
        from wetindex.sources.live import LiveInputs

        return with_label_store(LiveInputs(ctx.config, ctx.root, ctx.area_dir, now=now),
                                ctx.area_dir)
    raise NotImplementedError(f"source {ctx.config.source!r}")


def inputs_key(ctx: AreaContext, inputs: AreaInputs) -> str:
    """A key of everything a model is trained from: input files, area and model config.

    Outputs keyed by it are reused by a rerun (resume) and rebuilt when any input,
    the area's configuration or the model configuration changes.
    """
    digests = inputs.digests() if hasattr(inputs, "digests") else {}
    model_cfg = ctx.root / ctx.config.training.model_config_file
    cfg = ctx.config.model_dump(mode="json")
    cfg.pop("dask", None)  # where it runs does not change what it computes
    cfg.pop("schedule", None)
    return _key(digests, cfg, model_cfg.read_text() if model_cfg.exists() else "")


# --------------------------------------------------------------------------- static

def build_static(ctx: AreaContext, inputs: AreaInputs) -> xr.Dataset:
    """Static terrain features, built once per area and inputs (Zarr, keyed by content)."""
    raw = inputs.static_inputs()
    key = _key(hashlib.sha256(raw["elevation"].values.tobytes()).hexdigest(),
               inputs.grid.to_dict())
    final = ctx.area_dir / "static" / f"{key}.zarr"
    if final.exists():  # the CRS is not stored in the Zarr (spatial_ref is dropped)
        static = xr.open_zarr(final, consolidated=False).load()
        return static.rio.write_crs(inputs.grid.crs).rio.write_transform(
            inputs.grid.transform)
    # an area without a stream mask (local files) gets no distance_to_stream
    stream = raw["stream"] if bool(raw["stream"].any()) else None
    args = (raw["elevation"], raw["sea"])
    kwargs = dict(stream=stream, dike_crest=raw["dike_crest"], land_cover=raw["land_cover"],
                  permanent_water=raw["permanent_water"])
    with dask_client(ctx) as client:
        if client is None:
            static = static_features(*args, **kwargs)
        else:  # the global routing is one task; it runs on the cluster's worker
            static = client.submit(static_features, *args, **kwargs, pure=False).result()
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    encoded = static.drop_vars("spatial_ref", errors="ignore").chunk({"y": 512, "x": 512})
    encoded.to_zarr(tmp, mode="w", consolidated=False)
    os.replace(tmp, final)
    return static


# --------------------------------------------------------------------------- model

def history_end(inputs: AreaInputs) -> pd.Timestamp:
    return pd.Timestamp(inputs.observed_end())


def train_stage(ctx: AreaContext, inputs: AreaInputs, static: xr.Dataset,
                inputs_key: str | None = None) -> LoadedModel:
    """Train on the history, evaluate on the hold-out period, save a new model version.

    ``inputs_key`` (see :func:`inputs_key`) is stored in the metadata so a rerun with
    the same inputs reuses the model (:class:`wetindex.runner.AreaRun`).
    """
    model_config = load_model_config(ctx.root / ctx.config.training.model_config_file)
    end = history_end(inputs)
    trained, _ = train(inputs, static, model_config, history_end=end,
                       holdout_days=ctx.config.training.holdout_days,
                       max_lead_h=ctx.config.forecast.max_lead_h)
    ev = model_config["evaluation"]
    report = evaluate(trained.booster, inputs, static, holdout=trained.periods.holdout,
                      train=trained.periods.train, screen=trained.screen,
                      thresholds=ctx.config.thresholds.as_list(), n_cells=ev["cells"],
                      issue_step_h=ev["issue_step_h"], max_lead_h=ctx.config.forecast.max_lead_h,
                      calibration=trained.calibration)
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
    from wetindex.model.report import write_report

    log.info("verification report in %s", write_report(path, model.metadata))
    return model


def model_card(ctx: AreaContext, meta: dict[str, Any]) -> str:
    """A short Markdown model card: data, period, what a warning means, honest scores, limits."""
    from wetindex.model.report import (
        REFERENCE_TITLES,
        calibration_sentence,
        event_summary,
        verdict,
    )

    ev = meta["evaluation"]
    bins = ev["lead_bins"]
    lines = [
        f"# Wet-index model for {ctx.config.title}", "",
        "LightGBM gradient-boosted trees predicting the probability that a grid cell is "
        "covered by surface water at each hour 1–48 h after the issue time. A warning is "
        "about excess water: above the cell's seasonal normal (same-month wet frequency of "
        "the training history, kept with the model) and beyond what stands at the issue "
        "time, weighted by what is exposed there; permanent water is never warned.", "",
        "## Training data",
        f"- Inputs: {', '.join(a['name'] for a in meta['inputs'])}",
        f"- Training issue times: {meta['periods']['train'][0]} – {meta['periods']['train'][1]}",
        f"- Validation (early stopping): {meta['periods']['validation'][0]} – "
        f"{meta['periods']['validation'][1]}",
        f"- Hold-out: {meta['periods']['holdout'][0]} – {meta['periods']['holdout'][1]}",
        f"- Rows: {meta['rows']['train']} training ({meta['rows']['train_wet']} wet), "
        f"{meta['rows']['validation']} validation; {meta['rows']['training_cells']} cells of "
        f"{meta['rows']['candidate_cells']} candidates",
        "", "## Calibration", "", calibration_sentence(ev),
    ]
    refs = [r for r in ev.get("references", []) if f"bss_{r}" in ev["scores"]["model"]]
    if refs:
        lines += ["", "## Hold-out Brier skill score of the model against each reference", "",
                  "| reference | " + " | ".join(bins) + " |", "|---" * (len(bins) + 1) + "|"]
        for r in refs:
            lines.append(f"| {REFERENCE_TITLES.get(r, r)} | " + " | ".join(
                f"{v:.3f}" for v in ev["scores"]["model"][f"bss_{r}"]) + " |")
        if "model_observed_drivers" in ev["scores"]:
            lines.append("| upper bound: the model fed the observed drivers, vs. never wet | "
                         + " | ".join(f"{v:.3f}" for v in
                                      ev["scores"]["model_observed_drivers"]["bss_never_wet"])
                         + " |")
    m = ev["scores"]["model"]
    if "came_true_red" in m:
        lines += ["", "## How often each level came true (cell-hours, all leads)", ""]
        for lv in ("yellow", "orange", "red"):
            n = sum(m[f"cases_{lv}"])
            hits = sum(f * c for f, c in zip(m[f"came_true_{lv}"], m[f"cases_{lv}"], strict=True)
                       if c)
            lines.append(f"- {lv}: {hits / n:.0%} of {n} cases" if n else f"- {lv}: no cases")
    events = event_summary(ev.get("events"))
    if events:
        lines += ["", "## Events per place on the hold-out", "",
                  f"- Quiet issue times with no warning at all: "
                  f"{events['quiet_without_warning']:.0%} of {events['quiet_issues']}"]
        for lv, d in events["levels"].items():
            lines.append(f"- {lv}: POD {d['pod']:.2f} ({d['hits']}/{d['n_events']} events), "
                         f"FAR {d['far']:.2f} ({d['false_warnings']}/{d['n_warnings']} "
                         f"warnings), median lead {d['median_lead_h']:.0f} h, median onset "
                         f"error {d['median_onset_error_h']:+.0f} h")
    v = verdict(ev) if "model" in ev["scores"] else {}
    cv = meta.get("cv") or {}
    lines += [
        "", f"Rows scored: {ev['n_rows']} ({ev['n_wet']} wet); wet cells missed by the screen "
        f"in a sample outside it: {ev['screen_misses']}. Full report: `evaluation/`.", "",
        f"- 42–48 h above every reference: {v.get('last_bin_above_every_reference')}",
        f"- Extras (yes/no rules): beats each in BSS in every lead bin: "
        f"{v.get('beats_baselines_bss')}; in CSI at orange: "
        f"{v.get('beats_baselines_csi_orange')}",
    ]
    if cv.get("mean"):
        lines.append(f"- Cross-validation blocked by {cv['scheme']['tile_m']:.0f} m tiles and "
                     f"{cv['scheme']['storms']} storms ({cv['scheme']['n_folds']} folds): mean "
                     f"BSS {cv['mean']['brier_skill']:.3f}, ROC-AUC {cv['mean']['roc_auc']:.3f}")
    lines += [
        "", "## Known limits",
        "- Rain, sea level and groundwater anomaly are area-uniform series in this version.",
        "- Trained on the demo world's simulated water when the area is the demo: its skill "
        "says nothing about a real municipality.",
        "- Forecast-quality inputs: the demo's archived forecasts have errors growing with "
        "lead; a real area needs archived forecasts or an error model by lead.",
        "- Flood events are scored on the screen's candidate cells only; wet cells outside "
        "the screen are counted separately above.",
    ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- forecast

@dataclass
class Forecast:
    """A forecast run's products in memory and on disk."""

    dataset: xr.Dataset
    warnings: list[WarningArea]
    status: RunStatus
    folder: Path


def latest_issue_time(inputs: AreaInputs) -> pd.Timestamp:
    """The latest issue time with a forecast of the drivers and observations up to it."""
    issues = inputs.issue_times()
    end = history_end(inputs)
    return issues[issues <= end][-1]


def input_health(
    inputs: AreaInputs, issue_time: pd.Timestamp, stale_after_h: int
) -> list[InputHealth]:
    """Freshness of each observed driver at the issue time."""
    out = []
    try:
        obs = inputs.observed(issue_time.to_datetime64() - np.timedelta64(72, "h"),
                              issue_time.to_datetime64())
    except InputMissingError as err:
        return [InputHealth("observations", "missing", err.last_time, str(err))]
    for name in ("rain", "evaporation", "sea_level", "groundwater_anomaly"):
        series = obs[name].dropna("time")
        if series.sizes["time"] == 0:
            out.append(InputHealth(name, "missing", None, "no values in the last 72 h"))
            continue
        last = pd.Timestamp(series["time"].values[-1])
        age_h = (issue_time - last) / pd.Timedelta(hours=1)
        status = "fresh" if age_h <= stale_after_h else "stale"
        out.append(InputHealth(name, status, last.to_pydatetime().replace(tzinfo=UTC)))
    return out


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
        from wetindex.physics.stage import physical_forecast_stage

        return physical_forecast_stage(ctx, inputs, static, issue_time, method_reason,
                                       health=health, message=message,
                                       generated_at=generated_at)
    issue_time = pd.Timestamp(issue_time) if issue_time is not None else latest_issue_time(inputs)
    health = health or input_health(inputs, issue_time, ctx.config.forecast.stale_after_h)
    fin = gather_inputs(inputs, static, issue_time.to_datetime64(), model.screen)
    attrs = {
        "area": ctx.config.name, "area_name": ctx.config.title, "model_version": model.version,
        "thresholds": json.dumps(ctx.config.thresholds.model_dump()),
        "issue_time": issue_time.isoformat(),
        "driver_forecast": "persistence" if "forecast" in getattr(inputs, "proxies", {})
        else "forecast",
    }
    with dask_client(ctx) as client:  # in blocks of rows, written as 8-bit codes
        ds, cell_fields = learned_forecast(
            model, inputs, static, fin, issue_time, forecasts_dir=ctx.area_dir / "forecasts",
            thresholds=ctx.config.thresholds.as_list(), attrs=attrs, client=client,
            chunk_cells=ctx.config.dask.chunk_cells)
    ds.attrs.update(attrs)
    explain = _explainer(model, fin)
    depth = np.full(inputs.grid.ny * inputs.grid.nx, np.nan, "float32")
    depth[fin.cells] = fin.groundwater_depth
    warnings = warnings_from_codes(ds, inputs.places(), inputs.grid, area_name=ctx.config.title,
                             area_id=ctx.config.name, explain=explain,
                             drivers=inputs.forecast(issue_time.to_datetime64()),
                             dike_crest=cell_fields["dike_crest"], groundwater_depth=depth)
    status = made_status(ctx, issue_time, health, message, generated_at)
    folder = write_forecast(ctx, ds, warnings, status,
                            proxies=getattr(inputs, "proxies", {}))
    # the written cube, from where it now is (its files were moved in)
    return Forecast(open_forecast(folder, inputs.grid), warnings, status, folder)


def made_status(ctx: AreaContext, issue_time: pd.Timestamp, health: list[InputHealth],
                message: str = "", generated_at: datetime | None = None) -> RunStatus:
    """The status of a forecast that was made at ``issue_time`` from inputs of ``health``."""
    issued = issue_time.to_pydatetime().replace(tzinfo=UTC)
    return RunStatus(
        area_name=ctx.config.title, issue_time=issued,
        generated_at=generated_at or datetime.now(UTC),
        next_update=issued + timedelta(hours=ctx.config.forecast.issue_every_h),
        inputs=health, forecast_ok=True, message=message)


def _explainer(model: LoadedModel, fin: ForecastInputs):
    position = {int(c): i for i, c in enumerate(fin.cells)}

    def explain(lead_index: int, cells: np.ndarray) -> dict[str, float]:
        which = np.array([position[int(c)] for c in cells if int(c) in position])
        if len(which) == 0:
            return {"terrain": 1.0}
        contrib = model.booster.predict(fin.rows(lead_index, which), pred_contrib=True)
        return group_contributions(contrib, FEATURES, FEATURE_GROUPS)

    return explain


def write_forecast(ctx: AreaContext, ds: xr.Dataset, warnings: list[WarningArea],
                   status: RunStatus, proxies: dict[str, str] | None = None) -> Path:
    """forecast.nc, one GeoTIFF per lead (uint8 percent ×2.5), warnings and status JSON."""
    issue = pd.Timestamp(ds["issue_time"].values)
    final = ctx.area_dir / "forecasts" / f"{issue:%Y%m%dT%H%MZ}"
    tmp = _atomic_dir(final)
    # uint8 GeoTIFFs 0–250 in steps of 0.4 %, 255 = no data, with overviews
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
    _commit_dir(tmp, final)
    latest = final.parent / ".LATEST.tmp"
    latest.write_text(final.name + "\n")
    os.replace(latest, final.parent / "LATEST")
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


def grid_of(ds: xr.Dataset) -> AreaGrid:
    return AreaGrid.from_dataarray(ds["probability"].isel(lead=0))


# --------------------------------------------------------------------------- publish

@dataclass
class Published:
    site_root: Path
    release: Path
    feed_dir: Path
    cap_messages: list[str]


def scorecard(model: LoadedModel | None) -> dict[str, Any] | None:
    """The latest evaluation, as the site's 'about' page shows it."""
    if model is None:  # the physical forecast is live: say so in plain words
        from wetindex.physics.stage import physical_scorecard

        return physical_scorecard()
    ev = model.metadata.get("evaluation")
    if not ev:
        return None
    return site_scorecard(ev, model.version, model.metadata["created"])


def publish_stage(ctx: AreaContext, inputs: AreaInputs, static: xr.Dataset, forecast: Forecast,
                  model: LoadedModel | None) -> Published:
    """CAP feed first, then a new site release with the feed and GeoTIFFs as downloads."""
    from wetindex.alerts.feed import write_feed
    from wetindex.site import build_site, publish_release
    from wetindex.site.extras import site_extras

    feed_dir = ctx.area_dir / "feed"
    site_url = ctx.config.site.url
    code = ctx.config.alerts.municipality_code
    feed = write_feed(feed_dir, forecast.warnings, forecast.status, sender=ctx.config.alerts.sender,
                      site_url=site_url, area_name=ctx.config.title,
                      geocode={"kommunekode": code} if code else None)
    observed = inputs.observed_water(forecast.dataset["issue_time"].values)
    site_root = ctx.area_dir / "site"

    def build(release: Path):
        return build_site(
            release, forecast=forecast.dataset, warnings=forecast.warnings,
            status=forecast.status, outline=inputs.outline(),
            elevation=static["elevation"], attributions=[a.to_dict() for a in
                                                         inputs.attributions()],
            scorecard=scorecard(model), observed_water=observed,
            # GIS downloads only; the feed is published apart, for citizens
            downloads={"geotiff": forecast.folder / "geotiff"},
            tile_service=ctx.config.site.tile_service, web_dir=ctx.web_dir,
            area_id=ctx.config.name, **site_extras(ctx, inputs, forecast, static, feed_dir))

    release = publish_release(site_root, build)
    return Published(site_root, release, feed_dir, feed.messages)


# --------------------------------------------------------------------------- alerts

@dataclass
class AlertsResult:
    decisions: int
    sent: int
    pending: int
    failed: int
    mail_dir: Path
    outbox: Path
    #: this run's delivery outcomes (see wetindex.alerts.delivery) and held warnings
    outcomes: dict[str, int] | None = None
    held: dict[str, str] | None = None
    notes: list[str] | None = None
    #: subscriptions reported and skipped (bad entries), one line each
    problems: list[str] = field(default_factory=list)


def demo_subscriptions(inputs: AreaInputs) -> list:
    """The demo world's two subscribers as :class:`~wetindex.alerts.subscriptions.Subscription`."""
    from wetindex.alerts.subscriptions import Subscription

    subs = []
    for i, s in enumerate(inputs.world.demo_subscribers(), start=1):
        subs.append(Subscription(
            id=f"demo-{i}", name=s["name"], email=s["email"], language=s["language"],
            geometry=s["geometry"], min_level=int(s.get("min_level", 1)),
            max_lead_h=int(s.get("max_lead_h", 48)), crs=inputs.grid.crs))
    return subs


def alerts_stage(ctx: AreaContext, inputs: AreaInputs, forecast: Forecast) -> AlertsResult:
    """Decide alerts for the area's stored subscribers into the outbox, then deliver them.

    See :mod:`wetindex.alerts.area`: one encrypted subscriber store, the configured
    relay/gateway (the demo: a loopback mail server writing ``alerts/mail/*.eml``).
    """
    from wetindex.alerts.area import alerts_folder, db_url, run_area_alerts

    done = run_area_alerts(ctx, inputs, forecast)
    counts = done.delivery.counts()
    stats = done.delivery
    return AlertsResult(decisions=done.decisions, sent=counts["accepted"],
                        pending=counts["deferred"] + counts["unrouted"],
                        failed=counts["failed"] + counts["bounced"],
                        mail_dir=stats.mail_dir or alerts_folder(ctx) / "mail",
                        outbox=Path(db_url(ctx).removeprefix("sqlite:///")),
                        outcomes=counts, held=done.held, notes=done.notes,
                        problems=done.problems)


@dataclass
class DemoResult:
    forecast: Path
    site: Path
    release: Path
    feed: Path
    alerts: AlertsResult
    model: Path


# --------------------------------------------------------------------------- scale-out

@contextmanager
def dask_client(ctx: AreaContext) -> Iterator[Any]:
    """A ``dask.distributed.Client`` on the configured scheduler, or ``None`` (local).

    Without ``dask.scheduler_address`` feature building and prediction run in this
    process (NumPy kernels and LightGBM on local threads).
    """
    address = ctx.config.dask.scheduler_address
    if not address:
        yield None
        return
    from dask.distributed import Client

    with Client(address, timeout="30s") as client:
        yield client


def _predict_part(booster, part: ForecastInputs) -> np.ndarray:
    """Probabilities ``(lead, cells)`` of one chunk of candidate cells (runs on a worker)."""
    n = len(part.cells)
    line = AreaGrid("EPSG:3857", 1.0, 0.0, 1.0, n, 1)  # the chunk's cells as a 1 × n grid
    return predict_probability(booster, part, line, num_threads=1).values.reshape(-1, n)


def predict_cells(booster, fin: ForecastInputs, grid: AreaGrid, client=None, *,
                  chunk_cells: int = 250_000) -> xr.DataArray:
    """The probability cube, predicted locally or chunk by chunk of cells on a Dask cluster.

    Each chunk is :func:`predict_probability` on a slice of the candidate cells, so
    the distributed result equals the local one cell for cell.
    """
    if client is None:
        return predict_probability(booster, fin, grid)
    empty = replace(fin, cells=fin.cells[:0], static_rows=fin.static_rows[:0],
                    groundwater_depth=fin.groundwater_depth[:0])
    cube = predict_probability(booster, empty, grid)  # the output's coords, all zeros
    remote_booster = client.scatter(booster, broadcast=True)
    bounds = [(s, min(len(fin.cells), s + chunk_cells))
              for s in range(0, len(fin.cells), chunk_cells)]
    futures = [client.submit(
        _predict_part, remote_booster,
        replace(fin, cells=np.arange(e - s), static_rows=fin.static_rows[s:e],
                groundwater_depth=fin.groundwater_depth[s:e]), pure=False)
        for s, e in bounds]
    flat = cube.values.reshape(cube.sizes["lead"], -1)
    for (s, e), part in zip(bounds, client.gather(futures), strict=True):
        flat[:, fin.cells[s:e]] = part
    return cube
