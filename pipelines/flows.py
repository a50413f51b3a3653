"""Prefect flows: thin wiring of wetindex's stages with retries and logging.

Run without any server: Prefect starts a temporary local one when no
``PREFECT_API_URL`` is set. Deployments are declared in ``prefect.yaml``.

Per area (``areas/<name>.yaml``): ``static_flow``, ``history_flow``, ``train_flow``,
``forecast_flow`` (history → static → forecast → publish → alerts),
``housekeeping_flow`` and ``labels_flow`` (satellite labels into the label store).
Fetching tasks retry; tasks whose output depends only on the
inputs are cached by :func:`wetindex.stages.inputs.inputs_key` (input files' content, area
and model configuration), and the stages also resume from their content-keyed outputs
on disk (:mod:`wetindex.stages.run`).
"""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from wetindex import progress
from wetindex.areas import load_area
from wetindex.config import demo_config
from wetindex.freshness import utc_now
from wetindex.stages.alerts import alerts_stage
from wetindex.stages.context import AreaContext
from wetindex.stages.forecast import forecast_stage
from wetindex.stages.housekeeping import housekeeping
from wetindex.stages.inputs import area_inputs
from wetindex.stages.publish import publish_stage
from wetindex.stages.run import AreaRun, DemoResult
from wetindex.stages.static import build_static
from wetindex.stages.train import train_stage

# Large in-memory objects pass between these tasks; hashing them for Prefect's
# input cache would cost more than the tasks, so caching is keyed on disk by the
# stages themselves (content-keyed folders) instead.
_TASK = dict(cache_policy=NO_CACHE)


def _timed(name: str, fn, *args, **kwargs):
    logger = get_run_logger()
    start = time.perf_counter()
    logger.info("%s …", name)
    with progress.stage(name):  # shown by `wetindex demo`
        result = fn(*args, **kwargs)
    logger.info("%s done in %.1f s", name, time.perf_counter() - start)
    return result


@task(name="inputs", retries=2, retry_delay_seconds=5, **_TASK)
def inputs_task(ctx):
    return _timed("inputs: demo world / sources", area_inputs, ctx)


@task(name="static features", **_TASK)
def static_task(ctx, inputs):
    return _timed("static terrain features", build_static, ctx, inputs)


@task(name="train", **_TASK)
def train_task(ctx, inputs, static):
    return _timed("train and evaluate the model", train_stage, ctx, inputs, static)


@task(name="forecast", **_TASK)
def forecast_task(ctx, inputs, static, model, issue_time=None):
    return _timed("48-hour forecast", forecast_stage, ctx, inputs, static, model,
                  issue_time)


@task(name="publish", retries=1, **_TASK)
def publish_task(ctx, inputs, static, forecast, model):
    return _timed("publish site and CAP feed", publish_stage, ctx, inputs, static,
                  forecast, model)


@task(name="alerts", retries=1, **_TASK)
def alerts_task(ctx, inputs, forecast):
    return _timed("alerts to subscribers", alerts_stage, ctx, inputs, forecast)


@flow(name="wetindex-demo", log_prints=True)
def demo_flow(root: str = ".", size_m: float = 10_000.0, years: float = 3.0, seed: int = 42,
              start: str | None = None, storm_ahead_h: int | None = None,
              output_root: str | None = None, model_config_file: str | None = None):
    """The main job on the built-in demo area.

    world → static features → train → forecast → publish site and feed → alerts.
    ``model_config_file``: another model configuration than the area's (a test's lighter one).
    """
    world = {"size_m": size_m, "years": years, "seed": seed, "storm_ahead_h": storm_ahead_h}
    world |= {"start": start} if start else {}
    config = demo_config(**world)
    if model_config_file:
        config = config.model_copy(update={"training": config.training.model_copy(
            update={"model_config_file": model_config_file})})
    ctx = AreaContext(config, Path(root).resolve(),
                      Path(output_root).resolve() if output_root else None)
    inputs = inputs_task(ctx)
    static = static_task(ctx, inputs)
    model = train_task(ctx, inputs, static)
    forecast = forecast_task(ctx, inputs, static, model)
    site = publish_task(ctx, inputs, static, forecast, model)
    alerts = alerts_task(ctx, inputs, forecast)
    return DemoResult(forecast=forecast.folder, site=site.site_root, release=site.release,
                      feed=site.feed_dir, alerts=alerts, model=model.path)


# --------------------------------------------------------------------------- areas

def _area_run(area: str, root: str, issue_time: str | None = None):
    root_path = Path(root).resolve()
    return AreaRun(AreaContext(load_area(root_path, area), root_path), issue_time)


def _inputs_cache_key(context: Any, parameters: dict[str, Any]) -> str | None:
    """Cache key: the stage, everything its output depends on (see module docstring) and
    where the output lives, so another copy of the area builds its own."""
    run = parameters["run"]
    folder = hashlib.sha256(str(run.ctx.area_dir.resolve()).encode()).hexdigest()[:12]
    return f"{context.task.name}-{run.ctx.config.name}-{run.key}-{folder}"


_CACHED = dict(cache_key_fn=_inputs_cache_key, cache_expiration=timedelta(days=7),
               persist_result=True)


def _stage(run, stage: str) -> dict[str, Any]:
    logger = get_run_logger()
    result = run.run(stage)
    logger.info("%s %s: %s", stage, "reused" if result.reused else
                f"done in {result.seconds:.1f} s", result.summary)
    return {"stage": stage, "reused": result.reused, "summary": result.summary,
            "seconds": round(result.seconds, 2)}


@task(name="fetch and harmonise inputs", retries=3, retry_delay_seconds=[30, 120, 600],
      **_CACHED)
def history_stage_task(run) -> dict[str, Any]:
    return _stage(run, "history")


@task(name="static terrain features", **_CACHED)
def static_stage_task(run) -> dict[str, Any]:
    return _stage(run, "static")


@task(name="train and evaluate", **_CACHED)
def train_stage_task(run) -> dict[str, Any]:
    return _stage(run, "train")


@task(name="48-hour forecast", **_TASK)
def forecast_stage_task(run) -> dict[str, Any]:
    from wetindex.freshness import StaleInputsError

    try:
        return _stage(run, "forecast")
    except StaleInputsError as err:  # inputs too old: the site and feed say "not updated"
        get_run_logger().error("forecast refused: %s", run.publish_not_updated(err.report))
        raise


@task(name="publish site and CAP feed", retries=2, retry_delay_seconds=30, **_TASK)
def publish_stage_task(run) -> dict[str, Any]:
    return _stage(run, "publish")


@task(name="alerts", retries=2, retry_delay_seconds=60, **_TASK)
def alerts_stage_task(run) -> dict[str, Any]:
    return _stage(run, "alerts")


@flow(name="wetindex-static", log_prints=True)
def static_flow(area: str, root: str = ".") -> dict[str, Any]:
    """Static terrain features of an area (on demand: when the terrain changes)."""
    run = _area_run(area, root)
    return static_stage_task(run)


@flow(name="wetindex-history", log_prints=True)
def history_flow(area: str, root: str = ".") -> dict[str, Any]:
    """Fetch and harmonise the area's observed history."""
    return history_stage_task(_area_run(area, root))


@flow(name="wetindex-train", log_prints=True)
def train_flow(area: str, root: str = ".") -> list[dict[str, Any]]:
    """History → static features → train (on demand)."""
    run = _area_run(area, root)
    return [history_stage_task(run), static_stage_task(run), train_stage_task(run)]


@flow(name="wetindex-forecast", log_prints=True)
def forecast_flow(area: str, root: str = ".", issue_time: str | None = None
                  ) -> list[dict[str, Any]]:
    """History → static → forecast → publish → alerts, with the latest trained model."""
    run = _area_run(area, root, issue_time)
    return [history_stage_task(run), static_stage_task(run), forecast_stage_task(run),
            publish_stage_task(run), alerts_stage_task(run)]


@task(name="housekeeping", retries=1, **_TASK)
def housekeeping_task(run) -> dict[str, Any]:
    done = housekeeping(run.ctx, utc_now())  # the clock, or WETINDEX_NOW (replays, tests)
    get_run_logger().info("housekeeping: %s", done)
    return done


@flow(name="wetindex-housekeeping", log_prints=True)
def housekeeping_flow(area: str, root: str = ".") -> dict[str, Any]:
    """Daily: prune the download cache, delete old forecasts, retry alert deliveries,
    delete sign-ups unconfirmed after 72 h and delivered messages past retention."""
    return housekeeping_task(_area_run(area, root))


@task(name="satellite labels", retries=2, retry_delay_seconds=[60, 600], **_TASK)
def labels_task(area: str, root: str, start: str, end: str) -> dict[str, Any]:
    from wetindex.model.label_build import build_area_labels

    root_path = Path(root).resolve()
    store, log, folder = build_area_labels(load_area(root_path, area), root_path, start, end)
    used = sum(1 for r in log if r["used"])
    get_run_logger().info("labels %s – %s: %d scenes used, %d skipped; %d maps in %s", start,
                          end, used, len(log) - used, len(store), folder)
    return {"used": used, "skipped": len(log) - used, "maps": len(store), "folder": str(folder)}


@flow(name="wetindex-labels", log_prints=True)
def labels_flow(area: str, root: str = ".", days: int = 14, end: str | None = None
                ) -> dict[str, Any]:
    """New Sentinel-1/2 labels of the last ``days`` (to ``end``, default today) into the
    area's label store, which the next training reads."""
    import pandas as pd

    stop = pd.Timestamp(end) if end else pd.Timestamp.now(tz="UTC").tz_localize(None).floor("D")
    return labels_task(area, root, (stop - pd.Timedelta(days=days)).isoformat(),
                       stop.isoformat())
