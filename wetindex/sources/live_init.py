"""Writing a live area's configuration: the stations and sea point that serve it.

:func:`discover` asks the station lists of DMI metObs and oceanObs (catalog base
URLs) for the stations around the area: the nearest rain stations, and the tide
gauges within reach of the boundary (none: the area is not coastal and needs no
sea level). :func:`live_section` is the ``live:`` part of ``areas/NAME.yaml``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from shapely.geometry import Point

from wetindex.grid import AreaGrid
from wetindex.sources.dmi_metobs import fetch_stations
from wetindex.sources.errors import SourceError
from wetindex.sources.harmonise import grid_bbox_lonlat, lonlat_to_grid_xy
from wetindex.sources.registry import open_session

#: rain stations averaged (the nearest ones)
RAIN_STATIONS = 3
#: a tide gauge this close to the boundary makes the area coastal [m]
GAUGE_REACH_M = 15_000.0


@dataclass
class Discovery:
    rain_stations: list[str] = field(default_factory=list)
    sea_stations: list[str] = field(default_factory=list)
    sea_point: list[float] | None = None
    notes: list[str] = field(default_factory=list)


def _stations(source: str, cache_dir: Path, bbox: tuple[float, ...]):
    return fetch_stations(open_session(source, cache_dir), bbox)


def discover(grid: AreaGrid, boundary: Any, cache_dir: Path) -> Discovery:
    """Rain stations and tide gauges for the area (see module docstring)."""
    out = Discovery()
    w, s, e, n = grid_bbox_lonlat(grid, 0.3)
    try:
        rain = _stations("dmi_metobs", cache_dir, (w, s, e, n))
        x, y = lonlat_to_grid_xy(rain["lon"].to_numpy(), rain["lat"].to_numpy(), grid.crs)
        dist = np.array([boundary.distance(Point(a, b)) for a, b in zip(x, y, strict=True)])
        order = np.argsort(dist)[:RAIN_STATIONS]
        out.rain_stations = [str(rain["stationId"].iloc[i]) for i in order]
        out.notes.append("rain stations: " + ", ".join(
            f"{rain['stationId'].iloc[i]} {rain['name'].iloc[i]} ({dist[i] / 1000:.0f} km)"
            for i in order))
    except SourceError as err:
        out.notes.append(f"rain stations not found ({err.problem}): every station in the "
                         "area's box is used; set live.rain_stations")
    try:
        gauges = _stations("dmi_oceanobs", cache_dir, (w, s, e, n))
        x, y = lonlat_to_grid_xy(gauges["lon"].to_numpy(), gauges["lat"].to_numpy(), grid.crs)
        dist = np.array([boundary.distance(Point(a, b)) for a, b in zip(x, y, strict=True)])
        near = np.flatnonzero(dist <= GAUGE_REACH_M)
        near = near[np.argsort(dist[near])]
        out.sea_stations = [str(gauges["stationId"].iloc[i]) for i in near]
        if len(near):
            i = int(near[0])
            out.sea_point = [round(float(gauges["lon"].iloc[i]), 5),
                             round(float(gauges["lat"].iloc[i]), 5)]
            out.notes.append("tide gauges: " + ", ".join(
                f"{gauges['stationId'].iloc[k]} {gauges['name'].iloc[k]} "
                f"({dist[k] / 1000:.0f} km)" for k in near))
        else:
            out.notes.append(f"no tide gauge within {GAUGE_REACH_M / 1000:.0f} km: the area "
                             "is treated as non-coastal (no sea level)")
    except SourceError as err:
        out.notes.append(f"tide gauges not found ({err.problem}): set live.sea_stations and "
                         "live.sea_point for a coastal area")
    return out


def live_section(boundary_file: Path, municipality: str | None, found: Discovery,
                 overrides: dict[str, str]) -> str:
    """The ``live:`` section of the area file (YAML text with comments)."""
    lines = [
        "live:                     # inputs from the catalog's live sources (data_sources/)",
        f"  boundary: {boundary_file}",
        f"  municipality: {json.dumps(municipality)}",
        "  region: denmark         # global: Open-Meteo and Copernicus DEM",
        f"  rain_stations: {json.dumps(found.rain_stations)}   # DMI metObs, averaged",
        f"  sea_stations: {json.dumps(found.sea_stations)}   # oceanObs gauges; [] = "
        "non-coastal",
        "  sea_parameter: sealev_dvr   # sea_reg for Kystdirektoratet gauges",
        "  dkss_collection: dkss_nsbs  # dkss_lf for a Limfjord shore",
        f"  sea_point: {json.dumps(found.sea_point)}   # [lon, lat] of the DKSS surge point",
        "  harmonie_collection: harmonie_dini_sf",
        "  history_days: 90        # observed history fetched (training needs >= 70)",
        "  groundwater_depth_m: 2.0  # used without a HIP file (overrides.groundwater)",
        "  overrides:              # local files replacing a live family (KIND: PATH)",
    ]
    lines += [f"    {k}: {v}" for k, v in overrides.items()]
    if not overrides:
        lines[-1] = "  overrides: {}            # local files replacing a live family (KIND: PATH)"
    return "\n".join(lines) + "\n"


def live_config_text(name: str, title: str, grid: dict[str, Any], live: str,
                     cell_size: float) -> str:
    """The whole ``areas/NAME.yaml`` of a live area."""
    return (
        f"# wetindex area '{name}': written by 'wetindex init'. Edit freely; unknown keys are\n"
        f"# rejected. Check it with: wetindex check --area {name}\n"
        f"name: {name}\ntitle: {json.dumps(title, ensure_ascii=False)}\n"
        "source: live             # inputs from live open data (DMI, DHM, ...)\n"
        f"# the area grid: the boundary plus a margin, {cell_size:g} m cells\n"
        "grid:\n" + "".join(f"  {k}: {v}\n" for k, v in grid.items()) + live +
        "thresholds:               # probability at which each warning level starts\n"
        "  yellow: 0.2\n  orange: 0.4\n  red: 0.7\n"
        "forecast:\n  max_lead_h: 48\n  issue_every_h: 3\n"
        "  stale_after_h: 6        # 'wetindex status' exits non-zero beyond this age\n"
        "training:\n  holdout_days: 14\n"
        "schedule:                 # used by pipelines/prefect.yaml (cron, UTC)\n"
        "  forecast_cron: 45 1-22/3 * * *   # after each HARMONIE run is published\n"
        "  housekeeping_cron: 30 4 * * *\n  retention_days: 30\n  cache_max_age_days: 60\n"
    )
