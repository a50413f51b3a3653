"""The Prefect flows of an area that no other test runs end to end (housekeeping),
under Prefect's harness, on their own copy of the tiny area."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pytest
from local_area import tiny_project

from wetindex.alerts.crypto import generate_key

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the flows' clock, injected (WETINDEX_NOW)


@pytest.fixture(scope="module")
def own_project(tmp_path_factory, project_root):
    """The tiny area in a project folder of its own: the flows change what they find."""
    tiny = tiny_project(tmp_path_factory.mktemp("tiny"), project_root)
    root = tmp_path_factory.mktemp("flows") / "project"
    (root / "areas").mkdir(parents=True)
    shutil.copy(tiny / "areas" / "tiny.yaml", root / "areas" / "tiny.yaml")
    for link in ("pipelines", "web", "models"):
        (root / link).symlink_to(tiny / link)
    return root


def _forecast_folder(root, issued: datetime):
    folder = root / "var" / "tiny" / "forecasts" / f"{issued:%Y%m%dT%H%MZ}"
    folder.mkdir(parents=True)
    return folder


def test_housekeeping_flow_deletes_old_forecasts_but_never_the_latest(
        prefect_harness, own_project, project_root, monkeypatch):
    from prefect.flows import load_flow_from_entrypoint

    monkeypatch.setenv("WETINDEX_NOW", NOW.isoformat())
    monkeypatch.setenv("WETINDEX_SECRET_KEY", generate_key())  # the alerts store's key
    old = _forecast_folder(own_project, NOW - timedelta(days=40))
    latest = _forecast_folder(own_project, NOW - timedelta(days=35))
    recent = _forecast_folder(own_project, NOW - timedelta(days=2))
    (latest.parent / "LATEST").write_text(latest.name + "\n")
    flow = load_flow_from_entrypoint(f"{project_root}/pipelines/flows.py:housekeeping_flow")
    done = flow(area="tiny", root=str(own_project))
    # retention 30 days: the 40-day-old one goes; the latest stays however old it is
    assert not old.exists() and latest.exists() and recent.exists()
    assert done["forecasts_removed"] == [str(old)]
    assert "alerts" in done
