"""Shared fixtures: the project folder, the shared fixtures folder, Prefect's harness."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_REAL = PROJECT_ROOT.parent / "shared" / "fixtures" / "real"


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def real_fixtures() -> Path:
    if not SHARED_REAL.exists():
        pytest.skip(f"real fixtures not found at {SHARED_REAL} (../shared beside the repo)")
    return SHARED_REAL


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect server for the whole session (it takes ~20 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
