"""Small synthetic inputs for the citizen site tests (made in code; not the demo world)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import shapely
import xarray as xr
from pyproj import Transformer
from shapely.geometry import Point, box, mapping

from wetindex.grid import AreaGrid
from wetindex.warnings import InputHealth, RunStatus, WarningArea

REPO = Path(__file__).resolve().parents[2]
WEB_DIR = REPO / "web"
THRESHOLDS = {"yellow": 0.2, "orange": 0.4, "red": 0.7}
ISSUE = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def synthetic_inputs(nx: int = 100, ny: int = 100, *, state: str = "ok",
                     with_warning: bool = True, now: datetime | None = None) -> dict[str, Any]:
    """Keyword arguments for ``build_site``: a 10 m grid near x=540000, y=6330000.

    A patch of high probability grows to orange around lead 20 and fades by lead 40,
    so the hourly images differ. ``state`` is "ok", "degraded" (rain stale) or
    "missing" (forecast_ok False).
    """
    grid = AreaGrid("EPSG:25832", 10.0, 540_000.0, 6_330_000.0, nx, ny)
    leads = np.arange(1, 49)
    yy, xx = np.mgrid[0:ny, 0:nx]
    cx, cy, r = nx * 0.4, ny * 0.55, max(nx, ny) * 0.15
    blob = np.exp(-(((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r**2)))
    strength = 0.6 * np.exp(-(((leads - 20) / 8.0) ** 2))
    prob = (blob[None] * strength[:, None, None] + 0.02).astype("float32")
    level = np.zeros(prob.shape, dtype="uint8")
    for code, key in ((1, "yellow"), (2, "orange"), (3, "red")):
        level[prob >= THRESHOLDS[key]] = code
    issue = now or ISSUE
    coords = {"lead": leads, **grid.coords(),
              "valid_time": ("lead", pd.to_datetime([issue + timedelta(hours=int(h))
                                                     for h in leads]).tz_localize(None)),
              "issue_time": np.datetime64(issue.replace(tzinfo=None), "ns")}
    forecast = xr.Dataset(
        {"probability": (("lead", "y", "x"), prob), "level": (("lead", "y", "x"), level)},
        coords=coords, attrs={"thresholds": '{"yellow": 0.2, "orange": 0.4, "red": 0.7}'},
    ).rio.write_crs(grid.crs)

    elevation = grid.data_array(
        (2.0 + 3 * np.sin(xx / 9.0) * np.cos(yy / 13.0) + 0.02 * yy).astype("float32"),
        "elevation", "m")
    water = grid.data_array(np.where(blob > 0.8, 1, np.where(xx < 5, -1, 0)).astype("int8"),
                            "observed_water", time="2026-11-24T06:12:00Z")
    to_ll = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    centre = Point(grid.x_min + cx * 10, grid.y_max - cy * 10).buffer(r * 10 * 0.8)
    ll = shapely.transform(centre, lambda x, y: to_ll.transform(x, y), interleaved=False)
    warnings = []
    if with_warning:
        warnings.append(WarningArea(
            warning_id="test-klitten", area_name="Testkommune",
            place="Sommerhusområdet ved Klitten", level=2, probability=0.58,
            onset=issue + timedelta(hours=14), expires=issue + timedelta(hours=27),
            peak_time=issue + timedelta(hours=20),
            drivers={"rain": 0.55, "sea": 0.3, "terrain": 0.15},
            geometry=mapping(ll), cells=int((blob > 0.5).sum())))
    fresh = issue - timedelta(minutes=20)
    inputs = [InputHealth("rain", "fresh", fresh), InputHealth("sea_level", "fresh", fresh),
              InputHealth("groundwater", "fresh", fresh - timedelta(days=1))]
    if state == "degraded":
        inputs[0] = InputHealth("rain", "stale", issue - timedelta(hours=7), "radar feed down")
    status = RunStatus(
        area_name="Testkommune", issue_time=issue if state != "missing" else None,
        generated_at=issue + timedelta(minutes=5), next_update=issue + timedelta(hours=6),
        inputs=inputs, forecast_ok=state != "missing",
        message="" if state != "missing" else "model run failed",
    )
    outline = box(*grid.bounds).buffer(-50)
    return {
        "forecast": forecast, "warnings": warnings, "status": status, "outline": outline,
        "elevation": elevation, "observed_water": water, "web_dir": WEB_DIR,
        "attributions": [{"name": "DMI", "licence": "CC BY 4.0",
                          "attribution": "Danmarks Meteorologiske Institut",
                          "url": "https://www.dmi.dk/"}],
        "scorecard": {"model_version": "test-1", "evaluated_at": "2026-11-20T00:00:00Z",
                      "lead_bins": ["0-6", "6-12"],
                      "scores": {"model": {"brier_skill": [0.41, 0.33], "csi_orange": [0.5, 0.4]},
                                 "climatology": {"brier_skill": [0.0, 0.0]},
                                 "persistence": {"brier_skill": [0.2, float("nan")]}}},
    }


def rich_inputs(folder: Path, *, now: datetime | None = None) -> dict[str, Any]:
    """``synthetic_inputs`` plus what a real publish gives: places, the drivers' forecast,
    a base map, an address file, the feed folder, the contact, and the internal keys a
    run really reports (``groundwater_anomaly``, ``best_baseline``, …) that no page may
    show."""
    import geopandas as gpd
    from shapely.geometry import LineString

    kw = synthetic_inputs(now=now)
    grid = AreaGrid.from_dataarray(kw["elevation"])
    x0, y0, x1, y1 = grid.bounds
    mid = x0 + 0.6 * (x1 - x0)
    # "Polderen" holds the forecast's wet patch (centre at 40 % east, 55 % south).
    places = [SimpleNamespace(name="Polderen bag Diget", kind="polder",
                              geometry=box(x0, y0, mid, y1)),
              SimpleNamespace(name="Bakkerne Øst", kind="hills", geometry=box(mid, y0, x1, y1))]
    leads = kw["forecast"]["lead"].values
    drivers = xr.Dataset({
        "rain": ("lead", np.where((leads > 10) & (leads < 16), 4.0, 0.2)),
        "sea_level": ("lead", 0.4 + 2.0 * np.exp(-(((leads - 20) / 5.0) ** 2))),
    }, coords={"lead": leads})
    to_ll = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    cx, cy = x0 + 0.4 * (x1 - x0), y1 - 0.55 * (y1 - y0)
    rows = []
    for i, (street, dx) in enumerate([("Digevej", 0.0), ("Marskvej", 30.0), ("Bakkevej", 500.0)]):
        lon, lat = to_ll.transform(cx + dx, cy)
        rows.append(f"{street},{i * 2 + 1},9990,Vesterby,{lon:.6f},{lat:.6f}")
    addresses = folder / "adresser.csv"
    folder.mkdir(parents=True, exist_ok=True)
    addresses.write_text("vejnavn,husnr,postnr,postnrnavn,wgs84koordinat_længde,"
                         "wgs84koordinat_bredde\n" + "\n".join(rows) + "\n", encoding="utf-8")
    roads = gpd.GeoDataFrame({"name": ["Digevej", "Marskvej"], "kind": ["main", "residential"]},
                             geometry=[LineString([(x0, cy), (x1, cy)]),
                                       LineString([(cx, y0), (cx, y1)])], crs=grid.crs)
    buildings = gpd.GeoDataFrame(
        {"kind": ["house"] * 4},
        geometry=[box(cx + d, cy + 12, cx + d + 10, cy + 20) for d in (-60, -20, 20, 60)],
        crs=grid.crs)
    feed = folder / "feed"
    (feed / "cap").mkdir(parents=True, exist_ok=True)
    (feed / "atom.xml").write_text('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">'
                                   "<title>t</title></feed>", encoding="utf-8")
    (feed / "cap" / "a.xml").write_text("<alert/>", encoding="utf-8")
    (feed / "feed_state.json").write_text("{}", encoding="utf-8")
    status = kw["status"]
    kw["status"] = RunStatus(
        area_name=status.area_name, issue_time=status.issue_time,
        generated_at=status.generated_at, next_update=status.next_update,
        inputs=[*status.inputs, InputHealth("groundwater_anomaly", "stale",
                                            status.generated_at - timedelta(days=3))],
        forecast_ok=status.forecast_ok, message=status.message)
    kw["scorecard"]["scores"].update({
        "best_baseline": {"brier_skill": [0.1, 0.05]}, "nowcast": {"brier_skill": [0.3, 0.1]},
        "climatology_month": {"brier_skill": [0.01, 0.0]},
        "secret_method": {"brier_skill": [1, 1]}})
    # the warning belongs to the polder, as the warnings computation names it
    kw["warnings"] = [dataclasses.replace(w, place="Polderen bag Diget") for w in kw["warnings"]]
    return {**kw, "places_in": places, "drivers": drivers, "dike_crest": 2.55,
            "addresses": addresses, "basemap": {"roads": roads, "buildings": buildings},
            "feed_dir": feed, "downloads": {"geotiff": _geotiff_folder(folder)},
            "contact": {"name": "Testkommune, Beredskab", "email": "beredskab@test.invalid",
                        "url": "https://test.invalid/beredskab"}}


def _geotiff_folder(folder: Path) -> Path:
    gis = folder / "geotiff"
    gis.mkdir(parents=True, exist_ok=True)
    (gis / "probability_lead_01.tif").write_bytes(b"II*\x00" + b"\x00" * 64)
    return gis
