"""Helpers and fixtures of the connector tests: sessions over a mock transport, recorded answers.

No test here touches the network: every session's HTTP client gets an
``httpx.MockTransport`` whose handler plays recorded answers, and a fake sleep that
records the waits instead of sleeping.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from rasterio.io import MemoryFile
from rasterio.transform import from_origin

from wetindex.sources.cache import ResponseCache
from wetindex.sources.catalog import load_catalog
from wetindex.sources.http import HttpClient
from wetindex.sources.session import SourceSession

RECORDED = Path(__file__).resolve().parent / "recorded"
REAL = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "real"
CATALOG = load_catalog()


def recorded_bytes(name: str) -> bytes:
    return (RECORDED / name).read_bytes()


def recorded_json(name: str) -> Any:
    return json.loads(recorded_bytes(name))


@pytest.fixture
def real_dir() -> Path:
    if not REAL.exists():
        pytest.skip(f"shared real samples not found at {REAL} (../shared/fixtures/real "
                    "beside the repository)")
    return REAL


class Recorder:
    """A mock transport's handler wrapper: keeps every request it saw."""

    def __init__(self, handler: Callable[[httpx.Request], httpx.Response]):
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)


@pytest.fixture
def make_session(tmp_path: Path):
    """``make_session(source_id, handler, offline=False)`` → (session, recorder, sleeps)."""

    def make(source_id: str, handler: Callable[[httpx.Request], httpx.Response], *,
             offline: bool = False, cache_dir: Path | None = None
             ) -> tuple[SourceSession, Recorder, list[float]]:
        recorder = Recorder(handler)
        sleeps: list[float] = []
        http = HttpClient(httpx.MockTransport(recorder), sleep=sleeps.append)
        cache = ResponseCache(cache_dir or tmp_path / "cache", offline=offline)
        return SourceSession(CATALOG[source_id], http, cache), recorder, sleeps

    return make


def json_response(obj: Any, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(obj).encode(),
                          headers={"content-type": "application/json", **headers})


def geotiff(values: np.ndarray, west: float, north: float, res: float, crs: str) -> bytes:
    with MemoryFile() as mem:
        with mem.open(driver="GTiff", width=values.shape[1], height=values.shape[0], count=1,
                      dtype=values.dtype, crs=crs, transform=from_origin(west, north, res, res),
                      nodata=-9999) as dst:
            dst.write(values, 1)
        return mem.read()


def plane(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (2.0 + 0.001 * (x - 500_000) + 0.002 * (y - 6_300_000)).astype(np.float32)


def wcs(crs: str = "EPSG:25832"):
    """A fake DHM WCS: answers each GetCoverage with the plane at the asked pixel centres."""
    def handler(request: httpx.Request) -> httpx.Response:
        p = request.url.params
        assert p["REQUEST"] == "GetCoverage" and p["COVERAGE"] == "dhm_terraen"
        x0, _y0, x1, y1 = map(float, p["BBOX"].split(","))
        w, h = int(p["WIDTH"]), int(p["HEIGHT"])
        res = (x1 - x0) / w
        xs = x0 + (np.arange(w) + 0.5) * res
        ys = y1 - (np.arange(h) + 0.5) * res
        gx, gy = np.meshgrid(xs, ys)
        return httpx.Response(200, content=geotiff(plane(gx, gy), x0, y1, res, crs),
                              headers={"content-type": "image/tiff"})
    return handler
