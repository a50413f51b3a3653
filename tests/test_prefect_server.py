"""The area flows against a REAL local Prefect server, checked through its REST API."""

from __future__ import annotations

import httpx
import pandas as pd
import pytest
from local_area import tiny_project


@pytest.fixture(scope="module")
def prefect_server(prefect_harness):
    """The session's real local Prefect server (a uvicorn subprocess with its own temporary
    database, started by ``prefect_harness``): one server start serves every test."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    assert url and httpx.get(f"{url}/health", timeout=10).status_code == 200
    return url


def test_static_flow_runs_on_a_real_server_and_caches_by_inputs(prefect_server, project_root,
                                                                 tmp_path_factory):
    url = prefect_server
    import shutil

    # a copy of the shared tiny project: other tests build its static features too, and
    # the cache is keyed by where the outputs live, so this copy starts uncached
    shared = tiny_project(tmp_path_factory.mktemp("tiny"), project_root)
    project = tmp_path_factory.mktemp("own") / "project"
    shutil.copytree(shared, project, symlinks=True, ignore=shutil.ignore_patterns("var"))
    from prefect.flows import load_flow_from_entrypoint

    flow = load_flow_from_entrypoint(f"{project_root}/pipelines/flows.py:static_flow")
    started = httpx.get(f"{url}/health", timeout=10).headers.get("date")  # server's clock
    results = [flow(area="tiny", root=str(project)) for _ in range(2)]
    # the second run's task is served from the cache: same inputs, same key
    assert "static features on" in results[0]["summary"]
    assert results[1] == results[0]

    flow = httpx.post(f"{url}/flows/filter",
                      json={"flows": {"name": {"any_": ["wetindex-static"]}}}).json()
    assert len(flow) == 1
    runs = {"flows": {"id": {"any_": [flow[0]["id"]]}}}
    # only this test's runs: the session's server also ran the deployment tests' flows
    mine = {**runs, "flow_runs": {"start_time": {"after_": pd.Timestamp(
        started).tz_convert("UTC").floor("s").isoformat()}}}
    flows = httpx.post(f"{url}/flow_runs/filter", json={**mine, "sort": "START_TIME_ASC"}).json()
    assert len(flows) == 2
    assert all(f["state_type"] == "COMPLETED" for f in flows), [f["state"] for f in flows]
    these = {"flow_runs": {"id": {"any_": [f["id"] for f in flows]}}}
    tasks = httpx.post(f"{url}/task_runs/filter",
                       json={**these, "sort": "EXPECTED_START_TIME_ASC"}).json()
    states = [(t["name"].split("-")[0].strip(), t["state"]["name"]) for t in tasks]
    assert states[0][1] == "Completed" and states[1][1] == "Cached", states
    assert (project / "var" / "tiny" / "static").exists()
