"""The inputs stage: an area's inputs through the common interface, their content key,
the demo world's cache, and the freshness of the observed drivers at an issue time."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import numpy as np
import pandas as pd

from wetindex.absent_inputs import is_absent
from wetindex.atomicdir import switched_dir
from wetindex.demo import DemoWorld, DemoWorldConfig, build_demo_world
from wetindex.model.label_store import with_label_store
from wetindex.sources.base import AreaInputs, InputMissingError
from wetindex.sources.demo import DemoInputs
from wetindex.sources.live import LiveInputs
from wetindex.sources.local import LocalInputs
from wetindex.stages.context import AreaContext, artifact_key
from wetindex.warnings import InputHealth


def demo_world(ctx: AreaContext):
    """Build the demo world, or load it when the same configuration was built before."""
    demo = ctx.config.demo
    cfg = DemoWorldConfig(size_m=demo.size_m, cell_size=demo.cell_size, years=demo.years,
                          seed=demo.seed, start=demo.start, storm_ahead_h=demo.storm_ahead_h)
    # one world whatever the start: it is only moved in time (wetindex.demo.world)
    final = ctx.area_dir / "world" / artifact_key(demo.model_dump(exclude={"start"}), "anchored")
    if final.exists():
        return DemoWorld.load(final).shifted(demo.start)
    world = build_demo_world(cfg)
    with switched_dir(final) as tmp:
        world.save(tmp)
    return world


def area_inputs(ctx: AreaContext, now: Any = None) -> AreaInputs:
    """The inputs of an area through the common interface (``now``: a live area's as-of
    time, default the current hour)."""
    if ctx.config.source == "demo":
        return DemoInputs(demo_world(ctx))
    if ctx.config.source == "local":
        return with_label_store(LocalInputs(ctx.config, ctx.root), ctx.area_dir)
    if ctx.config.source == "live":
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
    return artifact_key(digests, cfg, model_cfg.read_text() if model_cfg.exists() else "")


def history_end(inputs: AreaInputs) -> pd.Timestamp:
    return pd.Timestamp(inputs.observed_end())


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
        if is_absent(inputs, name):  # not an input of this area (sea only), not "missing"
            continue
        series = obs[name].dropna("time")
        if series.sizes["time"] == 0:
            out.append(InputHealth(name, "missing", None, "no values in the last 72 h"))
            continue
        last = pd.Timestamp(series["time"].values[-1])
        age_h = (issue_time - last) / pd.Timedelta(hours=1)
        status = "fresh" if age_h <= stale_after_h else "stale"
        out.append(InputHealth(name, status, last.to_pydatetime().replace(tzinfo=UTC)))
    return out

