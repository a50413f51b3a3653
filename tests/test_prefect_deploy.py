"""`prefect deploy --all` of pipelines/prefect.yaml against a REAL local Prefect server,
then a deployment run by a real process worker.

Prefect 3.8.8's deploy stopped with a 422 after the first deployment: its client posts
``{"offset": null, "limit": null}`` to ``/work_pools/{name}/workers/filter`` and FastAPI
from 0.151 on validates an explicit null instead of taking the default (pyproject pins
``fastapi<0.151``). Every deployment must now be created.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from local_area import tiny_project

DEPLOYMENTS = {"wetindex-forecast/forecast", "wetindex-static/static", "wetindex-train/train",
               "wetindex-housekeeping/housekeeping", "wetindex-demo/demo"}


def _prefect(args: list[str], env: dict[str, str], cwd: Path, timeout: int = 300):
    return subprocess.run([str(Path(sys.executable).with_name("prefect")), *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def deployed(prefect_harness, project_root, tmp_path_factory):
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    project = tiny_project(tmp_path_factory.mktemp("tiny"), project_root)
    env = {**os.environ, "PREFECT_API_URL": url, "WETINDEX_ROOT": str(project),
           "WETINDEX_AREA": "tiny", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PYTHONPATH": str(project_root)}
    pool = httpx.post(f"{url}/work_pools/", json={"name": "wetindex", "type": "process"},
                      timeout=30)
    assert pool.status_code in (201, 409), pool.text
    done = _prefect(["--no-prompt", "deploy", "--all", "--prefect-file",
                     str(project_root / "pipelines" / "prefect.yaml")], env, project_root)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return url, env, project


def test_deploy_all_creates_every_deployment(deployed):
    url, _, project = deployed
    found = httpx.post(f"{url}/deployments/filter", json={}, timeout=30).json()
    names = {}
    flows = {f["id"]: f["name"] for f in httpx.post(f"{url}/flows/filter", json={},
                                                    timeout=30).json()}
    for d in found:
        names[f"{flows[d['flow_id']]}/{d['name']}"] = d
    assert DEPLOYMENTS <= set(names)
    forecast = names["wetindex-forecast/forecast"]
    assert forecast["parameters"] == {"area": "tiny", "root": str(project)}
    assert forecast["work_pool_name"] == "wetindex"
    assert [s["schedule"]["cron"] for s in forecast["schedules"]] == ["45 1-22/3 * * *"]


def _run_through_worker(url: str, env: dict[str, str], project: Path, names: list[str],
                        timeout_s: float = 900) -> list[str]:
    """Create a flow run of each deployment in turn and let one process worker run it."""
    worker = subprocess.Popen(
        [str(Path(sys.executable).with_name("prefect")), "worker", "start", "--pool",
         "wetindex", "--type", "process"], cwd=project, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    states = []
    try:
        for name in names:
            (deployment,) = httpx.post(f"{url}/deployments/filter", json={
                "deployments": {"name": {"any_": [name]}}}, timeout=30).json()
            run = httpx.post(f"{url}/deployments/{deployment['id']}/create_flow_run",
                             json={}, timeout=30).json()
            state = None
            end = time.monotonic() + timeout_s
            while time.monotonic() < end:
                state = httpx.get(f"{url}/flow_runs/{run['id']}",
                                  timeout=30).json()["state_type"]
                if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
                    break
                time.sleep(2)
            states.append(state)
            if state != "COMPLETED":
                break
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0]
    assert states == ["COMPLETED"] * len(names), output[-4000:]
    return states


@pytest.mark.slow
def test_static_deployment_runs_through_a_process_worker(deployed):
    url, env, project = deployed
    _run_through_worker(url, env, project, ["static"], timeout_s=240)
    assert (project / "var" / "tiny" / "static").exists()


@pytest.mark.slow
def test_forecast_deployment_runs_through_a_process_worker(deployed):
    import pandas as pd
    from local_area import synthetic_model

    from wetindex.alerts.crypto import generate_key
    from wetindex.model.artifacts import save_model

    url, env, project = deployed
    # the tiny history is too short to train on; a small model stands in (no skill claimed)
    model = synthetic_model(pd.Timestamp("2025-06-01"))
    meta = {k: v for k, v in model.metadata.items() if k != "version"}
    save_model(project / "models", "tiny", model.booster, meta, "synthetic", root=project)
    env = {**env, "WETINDEX_SECRET_KEY": generate_key(),  # the alerts stage's contact key
           "WETINDEX_NOW": "2025-06-08T23:30Z"}  # "now" is the tiny history's end
    _run_through_worker(url, env, project, ["forecast"])
    forecasts = project / "var" / "tiny" / "forecasts"
    assert (forecasts / "LATEST").exists()
    assert (project / "var" / "tiny" / "site" / "current" / "signup.html").exists()
    assert (project / "var" / "tiny" / "alerts" / "outbox.sqlite").exists()
