"""Fixtures for the citizen site tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from site_inputs import WEB_DIR


@pytest.fixture(scope="session")
def web_dir() -> Path:
    if not (WEB_DIR / "node_modules" / "leaflet" / "dist" / "leaflet.js").is_file():
        pytest.skip("Leaflet not installed: run `npm ci --prefix web`")
    return WEB_DIR
