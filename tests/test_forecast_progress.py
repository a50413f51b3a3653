"""The forecast stage shows a progress bar of its blocks, as training shows its rounds."""

from __future__ import annotations

import io
import math
import re

from local_area import synthetic_model, tiny_project
from rich.console import Console

from wetindex import progress
from wetindex.commands.area import load_area
from wetindex.forecast_stream import FORECAST_BLOCKS
from wetindex.stages.context import AreaContext
from wetindex.stages.forecast import forecast_stage
from wetindex.stages.inputs import area_inputs, latest_issue_time
from wetindex.stages.static import build_static


def test_forecast_stage_counts_its_blocks_to_the_last(tmp_path_factory, project_root):
    project = tiny_project(tmp_path_factory.mktemp("tiny"), project_root)
    config = load_area(project, "tiny")
    # blocks of about 2000 cells: several blocks on the tiny area
    config = config.model_copy(update={"dask": config.dask.model_copy(
        update={"chunk_cells": 2000})})
    ctx = AreaContext(config, project, tmp_path_factory.mktemp("progress"))
    inputs = area_inputs(ctx)
    static = build_static(ctx, inputs)
    issue = latest_issue_time(inputs)
    rows = max(1, 2000 // inputs.grid.nx)
    blocks = math.ceil(inputs.grid.ny / rows)
    assert blocks >= 3

    console = Console(file=io.StringIO(), width=120, force_terminal=False)
    with progress.shown(console), progress.stage("48-hour forecast"):
        forecast = forecast_stage(ctx, inputs, static, synthetic_model(issue), issue)
    text = console.file.getvalue()
    line = [ln for ln in text.splitlines() if FORECAST_BLOCKS.strip() in ln]
    assert line, text
    # the last block written: all of them counted, none twice
    assert re.search(rf"\b{blocks}/{blocks}\b", line[-1]), line[-1]
    assert (forecast.folder / "forecast.nc").exists()
