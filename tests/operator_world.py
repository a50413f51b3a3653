"""An operator's own files, made in code: a coast whose boundary covers the sea.

The terrain is :mod:`tests.physics.coast_world`'s (sea at −1 m west, a dike at x = 15
with crest 3 m, a polder at 0.5 m, rising land, a stream) plus a lake 0.3 m deep in the
rising land. The files are as agencies hand them out: the boundary is the bounding
box (sea included), the dike's crest is in ``DIGE_KOTE`` in centimetres, the lake is a
polygon, the stream a line, the labels a uint8 NetCDF at 05 and 17 UTC with 255 for
unknown (and the lake wet on every pass). The sea level ends in a surge of
:data:`SURGE_M` m above the crest, held in the persistence forecast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
import xarray as xr

sys.path.insert(0, str(Path(__file__).parent / "physics"))
import coast_world as cw

#: the lake's rows and columns (in the rising land, away from the hollows and the stream)
LAKE = (slice(8, 12), slice(62, 67))
SURGE_M = 3.4
RAIN_MM_H = 3.0
START = pd.Timestamp("2025-01-01T00:00")
DAYS = 40
#: a ``wet_ground`` world: days between rain events, the meadow's rows and columns
RAIN_EVERY_D = 7
MEADOW = (slice(44, 49), slice(38, 46))


def terrain() -> np.ndarray:
    z, _, _, _ = cw.terrain()
    z = z.copy()
    z[LAKE] -= 0.3
    return z


def lake_mask() -> np.ndarray:
    m = np.zeros((cw.NY, cw.NX), bool)
    m[LAKE] = True
    return m


def _cell_box(g, rows: slice, cols: slice):
    c = g.cell_size
    return shapely.box(g.x_min + cols.start * c, g.y_max - rows.stop * c,
                       g.x_min + cols.stop * c, g.y_max - rows.start * c)


def _geojson(path: Path, features: list[tuple[object, dict]]) -> Path:
    path.write_text(json.dumps({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}},
        "features": [{"type": "Feature", "geometry": shapely.geometry.mapping(g),
                      "properties": p} for g, p in features]}))
    return path


def write_files(folder: Path, *, surge: bool = True, days: int = DAYS,
                wet_ground: bool = False, with_rain: bool = True) -> dict[str, Path]:
    """The operator's files in ``folder``; returns ``{kind: path}``.

    ``days`` of history; ``wet_ground``: rain events every :data:`RAIN_EVERY_D` days and
    labels that see water on wet ground (:func:`write_labels`), enough to train and score
    a model; ``with_rain=False``: no rain file at all (an area that wants sea warnings only).
    """
    folder.mkdir(parents=True, exist_ok=True)
    g = cw.grid()
    c = g.cell_size
    files: dict[str, Path] = {}
    z = terrain()
    da = g.data_array(z, "elevation", "m")
    files["terrain"] = folder / "terrain.tif"
    da.rio.write_nodata(np.nan, encoded=True).rio.to_raster(files["terrain"])
    files["boundary"] = _geojson(folder / "boundary.geojson",
                                 [(shapely.box(*g.bounds), {"name": "Kystkommunen"})])
    x_dike = g.x_min + 15.5 * c
    files["dikes"] = _geojson(folder / "dikes.geojson", [  # two sections, 1 cell apart
        (shapely.LineString([(x_dike, g.y_max), (x_dike, g.y_max - 30 * c)]),
         {"navn": "Nordre Dige", "DIGE_KOTE": cw.CREST * 100}),
        (shapely.LineString([(x_dike, g.y_max - 31.5 * c), (x_dike, g.y_min)]),
         {"navn": "Søndre Dige", "DIGE_KOTE": cw.CREST * 100})])
    files["water"] = _geojson(folder / "lakes.geojson",
                              [(_cell_box(g, *LAKE), {"objekttype": "Sø"})])
    y_stream = g.y_max - (cw.STREAM_ROW + 0.5) * c
    files["streams"] = _geojson(folder / "streams.geojson", [
        (shapely.LineString([(g.x_min + 36 * c, y_stream), (g.x_max, y_stream)]),
         {"navn": "Bæk"})])
    hours = pd.date_range(START, periods=days * 24, freq="h")
    sea = 0.3 * np.sin(2 * np.pi * np.arange(len(hours)) / 12.42)
    if surge:  # the surge rises over a day and stands above the crest for the last 12 h
        sea[-24:-12] = np.linspace(1.0, SURGE_M, 12)
        sea[-12:] = SURGE_M
    pd.DataFrame({"time": hours.strftime("%Y-%m-%dT%H:%MZ"), "sea_level": sea.round(3)}
                 ).to_csv(folder / "sea_level.csv", index=False)
    files["sea_level"] = folder / "sea_level.csv"
    rain = np.zeros(len(hours))
    rain[-24:] = RAIN_MM_H  # a wet day with the surge: the lake and the hollows fill
    if wet_ground:
        rain[rain_event_hours(days)] = RAIN_MM_H
    if with_rain:
        pd.DataFrame({"time": hours.strftime("%Y-%m-%dT%H:%MZ"), "rain": rain}
                     ).to_csv(folder / "rain.csv", index=False)
        files["rain"] = folder / "rain.csv"
    daily = pd.date_range(START, periods=days, freq="D")
    pd.DataFrame({"time": daily.strftime("%Y-%m-%d"), "evaporation": np.full(days, 1.0)}
                 ).to_csv(folder / "evaporation.csv", index=False)
    files["evaporation"] = folder / "evaporation.csv"
    files["labels"] = write_labels(folder / "labels.nc", days=days, wet_ground=wet_ground)
    return files


def rain_event_hours(days: int) -> np.ndarray:
    """Hours (from :data:`START`) of the rain events of a ``wet_ground`` world: 8 h of rain
    every :data:`RAIN_EVERY_D` days, starting at 20 UTC, so the next passes see it."""
    starts = np.arange(3, days - 2, RAIN_EVERY_D) * 24 + 20
    return (starts[:, None] + np.arange(8)[None, :]).ravel()


def meadow_mask() -> np.ndarray:
    """The wet meadow: low ground beside the stream, wet on most passes (normal water)."""
    m = np.zeros((cw.NY, cw.NX), bool)
    m[MEADOW] = True
    return m


def hollow_mask() -> np.ndarray:
    """The upper hollow's cells, wet on the passes after a rain event."""
    y, x = np.ogrid[:cw.NY, :cw.NX]
    return np.hypot(y - cw.HOLLOW[0], x - cw.HOLLOW[1]) < cw.HOLLOW_RADIUS - 1


def write_labels(path: Path, *, days: int = DAYS, wet_ground: bool = False) -> Path:
    """uint8 labels at 05 and 17 UTC: 0 dry, 1 water (the lake), 255 unknown (cloud).

    ``wet_ground``: the meadow is wet on three passes of four, the upper hollow on every
    pass within two days after a rain event's start (:func:`rain_event_hours`).
    """
    g = cw.grid()
    times = [START + pd.Timedelta(days=d, hours=h) for d in range(2, days - 2, 3)
             for h in (5, 17)]
    maps = np.zeros((len(times), cw.NY, cw.NX), "uint8")
    maps[:, lake_mask()] = 1
    if wet_ground:
        rain_starts = START + pd.to_timedelta(rain_event_hours(days)[::8], unit="h")
        for i, t in enumerate(times):
            if i % 4:
                maps[i, meadow_mask()] = 1
            since = (t - rain_starts) / pd.Timedelta(hours=1)
            if ((since >= 0) & (since <= 48)).any():
                maps[i, hollow_mask()] = 1
    maps[::2, :5, :] = 255  # a cloud band on the morning passes
    da = xr.DataArray(maps, dims=("time", "y", "x"),
                      coords={"time": times, "y": g.y, "x": g.x}, name="water")
    da = da.rio.write_crs(g.crs)
    da.to_dataset().to_netcdf(path)
    return path
