"""The forecast on a Dask LocalCluster (two worker processes) equals the local one."""

from __future__ import annotations

import numpy as np
import pytest
from local_area import synthetic_model, tiny_project

from wetindex.commands.area import load_area
from wetindex.model.predict import gather_inputs
from wetindex.stages.context import AreaContext
from wetindex.stages.forecast import forecast_stage
from wetindex.stages.inputs import area_inputs, latest_issue_time
from wetindex.stages.static import build_static


@pytest.fixture(scope="module")
def cluster():
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=None) as c:
        yield c


def test_forecast_on_local_cluster_equals_one_process(tmp_path_factory, project_root, cluster):
    project = tiny_project(tmp_path_factory.mktemp("tiny"), project_root)
    config = load_area(project, "tiny")
    local_ctx = AreaContext(config, project, tmp_path_factory.mktemp("local"))
    inputs = area_inputs(local_ctx)
    static = build_static(local_ctx, inputs)
    issue = latest_issue_time(inputs)
    model = synthetic_model(issue)

    local = forecast_stage(local_ctx, inputs, static, model, issue)

    # small chunks so the cells are spread over several tasks on both workers
    on_cluster = config.model_copy(update={"dask": config.dask.model_copy(
        update={"scheduler_address": cluster.scheduler_address, "chunk_cells": 1000})})
    dist_ctx = AreaContext(on_cluster, project, tmp_path_factory.mktemp("dist"))
    fin = gather_inputs(inputs, static, issue.to_datetime64(), model.screen)
    assert len(fin.cells) > 2 * 1000, "too few candidate cells to spread over the workers"
    distributed = forecast_stage(dist_ctx, inputs, static, model, issue)

    p_local = local.dataset["probability"].values
    p_dist = distributed.dataset["probability"].values
    assert p_local.shape == (48, inputs.grid.ny, inputs.grid.nx)
    assert np.ptp(p_local) > 0.05, "the synthetic model should give varied probabilities"
    np.testing.assert_allclose(p_dist, p_local, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(distributed.dataset["level"].values,
                                  local.dataset["level"].values)
    assert (distributed.folder / "forecast.nc").exists()


def test_unreachable_scheduler_is_reported_by_check(tmp_path_factory, project_root):
    from wetindex.commands.area import check_area

    project = tiny_project(tmp_path_factory.mktemp("tiny"), project_root)
    config = load_area(project, "tiny")
    bad = config.model_copy(update={"dask": config.dask.model_copy(
        update={"scheduler_address": "tcp://127.0.0.1:9"})})
    problems, _ = check_area(bad, project)
    assert any("dask: scheduler tcp://127.0.0.1:9 unreachable" in p for p in problems)
