"""Which connector fetches what for an area: one entry per catalog source.

:func:`open_session` binds a catalog entry to the HTTP client and the cache;
:data:`FETCHERS` maps a source id to a function fetching that source's inputs for
an :class:`AreaRequest` and a time window (used by ``wetindex fetch``). The demo
world is one more source: it is computed, so fetching it says so.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from wetindex.grid import AreaGrid
from wetindex.sources import (
    copernicus_dem,
    copernicus_stac,
    dagi,
    dhm_terrain,
    dmi_climate,
    dmi_forecast_edr,
    dmi_metobs,
    dmi_oceanobs,
    hip_groundwater,
    openmeteo,
)
from wetindex.sources.cache import ResponseCache
from wetindex.sources.catalog import SourceEntry, load_catalog
from wetindex.sources.errors import SourceError
from wetindex.sources.harmonise import grid_bbox_lonlat
from wetindex.sources.http import HttpClient
from wetindex.sources.session import Answer, SourceSession

#: stations and model points this far around the area also count (degrees)
STATION_PAD_DEG = 0.3


@dataclass(frozen=True)
class AreaRequest:
    """What a fetch needs to know about the area.

    ``bbox`` is ``(west, south, east, north)`` in WGS84; ``grid`` is needed by the
    raster sources; ``municipality`` by the boundary service; ``url`` by HIP.
    """

    name: str
    bbox: tuple[float, float, float, float]
    grid: AreaGrid | None = None
    municipality: str | None = None
    url: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_grid(cls, name: str, grid: AreaGrid, **kw: Any) -> AreaRequest:
        return cls(name=name, bbox=grid_bbox_lonlat(grid), grid=grid, **kw)

    @property
    def centre(self) -> tuple[float, float]:
        west, south, east, north = self.bbox
        return ((west + east) / 2, (south + north) / 2)

    def padded(self, pad: float = STATION_PAD_DEG) -> tuple[float, float, float, float]:
        west, south, east, north = self.bbox
        return (west - pad, south - pad, east + pad, north + pad)

    def need_grid(self, source: str) -> AreaGrid:
        if self.grid is None:
            raise SourceError(source, "(not sent)", f"area '{self.name}' has no grid",
                              "give the area config a grid: section (wetindex init writes one)")
        return self.grid


def make_http(**kw: Any) -> HttpClient:
    """The HTTP client of a fetch (tests replace this with a mock transport)."""
    transport: httpx.BaseTransport | None = kw.pop("transport", None)
    return HttpClient(transport, **kw)


def open_session(source_id: str, cache_dir: Path, *, offline: bool | None = None,
                 catalog_dir: Path | None = None, http: HttpClient | None = None,
                 on_answer: Callable[[Answer], None] | None = None) -> SourceSession:
    """A :class:`SourceSession` for one catalog source.

    ``offline`` defaults to the environment variable ``WETINDEX_OFFLINE`` (``1``).
    """
    catalog = load_catalog(catalog_dir)
    if source_id not in catalog:
        raise SourceError(source_id, "(none)", "no such source in the catalog",
                          f"use one of: {', '.join(sorted(catalog))}")
    if offline is None:
        offline = os.environ.get("WETINDEX_OFFLINE", "") in ("1", "true", "yes")
    return SourceSession(catalog[source_id], http or make_http(),
                         ResponseCache(cache_dir, offline=offline), on_answer=on_answer)


def _window(start: Any, end: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    s, e = pd.Timestamp(start), pd.Timestamp(end)
    if e <= s:
        raise ValueError(f"the end ({e}) must be after the start ({s})")
    return s, e


def _metobs(session: SourceSession, area: AreaRequest, start: Any, end: Any) -> Any:
    return dmi_metobs.fetch_rain(session, *_window(start, end), bbox=area.padded())


def _oceanobs(session: SourceSession, area: AreaRequest, start: Any, end: Any) -> Any:
    stations = dmi_metobs.fetch_stations(session, area.padded())
    return dmi_oceanobs.fetch_sea_level(session, list(stations["stationId"].astype(str)),
                                        *_window(start, end))


def _climate(session: SourceSession, area: AreaRequest, start: Any, end: Any) -> Any:
    s, e = _window(start, end)
    return {p: dmi_climate.fetch_grid_values(session, p, s, e, area.padded(0.1))
            for p in dmi_climate.PARAMETERS}


def _edr(session: SourceSession, area: AreaRequest, start: Any, end: Any) -> Any:
    return {"rain": dmi_forecast_edr.fetch_harmonie_rain(session, bbox=area.padded(0.05)),
            "sea_level": dmi_forecast_edr.fetch_surge(
                session, bbox=area.padded(0.1),
                collection=area.options.get("dkss_collection", "dkss_nsbs"))}


def _dhm(session: SourceSession, area: AreaRequest, start: Any, end: Any) -> Any:
    return dhm_terrain.fetch_terrain(session, area.need_grid(session.source))


def _cop_dem(session: SourceSession, area: AreaRequest, start: Any, end: Any) -> Any:
    return copernicus_dem.fetch_dem(session, area.need_grid(session.source))


def _dagi(session: SourceSession, area: AreaRequest, start: Any, end: Any) -> Any:
    if not area.municipality:
        raise SourceError(session.source, "(not sent)", "no municipality code given",
                          "pass --municipality 0849 (or give a boundary file to wetindex init)")
    return dagi.fetch_boundary(session, area.municipality)


def _hip(session: SourceSession, area: AreaRequest, start: Any, end: Any) -> Any:
    if not area.url:
        raise SourceError(session.source, "(not sent)", "HIP has no API: no file URL given",
                          "download the NetCDF from hip.dataforsyningen.dk and pass --url or "
                          "attach the file with --input groundwater=PATH")
    return hip_groundwater.fetch_groundwater_depth(session, area.url)


def _stac(session: SourceSession, area: AreaRequest, start: Any, end: Any) -> Any:
    s, e = _window(start, end)
    return {key: copernicus_stac.search(session, collection, area.bbox, s, e, require=False)
            for key, collection in copernicus_stac.COLLECTIONS.items()}


def _openmeteo(product: str) -> Callable[..., Any]:
    def fetch(session: SourceSession, area: AreaRequest, start: Any, end: Any) -> Any:
        s, e = _window(start, end)
        window = (s, e) if product == "archive" else (None, None)
        return openmeteo.fetch_hourly(session, product, [area.centre], start=window[0],
                                      end=window[1])
    return fetch


def _demo(session: SourceSession, area: AreaRequest, start: Any, end: Any) -> Any:
    raise SourceError(session.source, "(nothing sent)",
                      "the demo world is computed, not fetched",
                      "run 'wetindex demo'; its inputs come from wetindex.sources.demo")


FETCHERS: dict[str, Callable[[SourceSession, AreaRequest, Any, Any], Any]] = {
    "dmi_metobs": _metobs,
    "dmi_oceanobs": _oceanobs,
    "dmi_climate": _climate,
    "dmi_forecast_edr": _edr,
    "dhm_terrain": _dhm,
    "copernicus_dem": _cop_dem,
    "dagi": _dagi,
    "hip_groundwater": _hip,
    "copernicus_stac": _stac,
    "openmeteo_forecast": _openmeteo("forecast"),
    "openmeteo_archive": _openmeteo("archive"),
    "openmeteo_marine": _openmeteo("marine"),
    "demo": _demo,
}


def fetch(session: SourceSession, area: AreaRequest, start: Any, end: Any) -> Any:
    """Fetch ``session``'s source for ``area`` between ``start`` and ``end``."""
    if session.source not in FETCHERS:
        raise SourceError(session.source, "(none)", "no connector for this catalog entry",
                          f"known connectors: {', '.join(sorted(FETCHERS))}")
    return FETCHERS[session.source](session, area, start, end)


def sources_table(catalog_dir: Path | None = None) -> list[SourceEntry]:
    """Catalog entries in a stable order, for listings and the site's footer."""
    return sorted(load_catalog(catalog_dir).values(), key=lambda e: (e.region, e.id))
