"""Prefect flows: thin wiring of wetindex's stages with retries and logging.

Run without any server: Prefect starts a temporary local one when no
``PREFECT_API_URL`` is set. Deployments are declared in ``prefect.yaml``.
"""

from __future__ import annotations

import time
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from wetindex import pipeline
from wetindex.config import demo_config

# Large in-memory objects pass between these tasks; hashing them for Prefect's
# input cache would cost more than the tasks, so caching is keyed on disk by the
# stages themselves (content-keyed folders) instead.
_TASK = dict(cache_policy=NO_CACHE)


def _timed(name: str, fn, *args, **kwargs):
    logger = get_run_logger()
    start = time.perf_counter()
    logger.info("%s …", name)
    result = fn(*args, **kwargs)
    logger.info("%s done in %.1f s", name, time.perf_counter() - start)
    return result


@task(name="inputs", retries=2, retry_delay_seconds=5, **_TASK)
def inputs_task(ctx):
    return _timed("inputs: demo world / sources", pipeline.area_inputs, ctx)


@task(name="static features", **_TASK)
def static_task(ctx, inputs):
    return _timed("static terrain features", pipeline.build_static, ctx, inputs)


@task(name="train", **_TASK)
def train_task(ctx, inputs, static):
    return _timed("train and evaluate the model", pipeline.train_stage, ctx, inputs, static)


@task(name="forecast", **_TASK)
def forecast_task(ctx, inputs, static, model, issue_time=None):
    return _timed("48-hour forecast", pipeline.forecast_stage, ctx, inputs, static, model,
                  issue_time)


@task(name="publish", retries=1, **_TASK)
def publish_task(ctx, inputs, static, forecast, model):
    return _timed("publish site and CAP feed", pipeline.publish_stage, ctx, inputs, static,
                  forecast, model)


@task(name="alerts", retries=1, **_TASK)
def alerts_task(ctx, inputs, forecast):
    return _timed("alerts to subscribers", pipeline.alerts_stage, ctx, inputs, forecast)


@flow(name="wetindex-demo", log_prints=True)
def demo_flow(root: str = ".", size_m: float = 10_000.0, years: float = 3.0, seed: int = 42,
              start: str | None = None, output_root: str | None = None):
    """The main job on the built-in demo area.

    world → static features → train → forecast → publish site and feed → alerts.
    """
    world = {"size_m": size_m, "years": years, "seed": seed} | ({"start": start} if start else {})
    ctx = pipeline.AreaContext(demo_config(**world),
                               Path(root).resolve(),
                               Path(output_root).resolve() if output_root else None)
    inputs = inputs_task(ctx)
    static = static_task(ctx, inputs)
    model = train_task(ctx, inputs, static)
    forecast = forecast_task(ctx, inputs, static, model)
    site = publish_task(ctx, inputs, static, forecast, model)
    alerts = alerts_task(ctx, inputs, forecast)
    return pipeline.DemoResult(forecast=forecast.folder, site=site.site_root,
                               release=site.release, feed=site.feed_dir,
                               alerts=alerts, model=model.path)
