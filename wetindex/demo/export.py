"""The demo world written out as the local files a municipality would have.

``python -m wetindex.demo.export FOLDER`` writes a small demo world's inputs in the
formats ``wetindex init --input KIND=PATH`` reads, so the onboarding of a new area can
be tried end to end without any download:

=====================  ==========================================================
``terrain.tif``        terrain [m], float32 GeoTIFF, EPSG:25832, sea as nodata
``rain.csv``           ``time`` (UTC) and ``rain`` [mm/h]
``evaporation.csv``    ``time`` and ``evaporation`` [mm/d]
``sea_level.csv``      ``time`` and ``sea_level`` [m]
``groundwater.tif``    depth to the water table [m] by the national model, EPSG:25832
``dikes.geojson``      the dike's centre line with ``crest_m`` (lon/lat)
``boundary.geojson``   the land part of the area (lon/lat)
``labels.nc``          observed water ``(time, y, x)``: 1 water, 0 dry, -1 unknown
=====================  ==========================================================
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
import shapely.validation
import xarray as xr
from pyproj import Transformer
from rasterio.features import shapes

from wetindex.config import demo_start_ending_now
from wetindex.demo import DemoWorld, DemoWorldConfig, build_demo_world


def _lonlat(geom, crs: str):
    to_lonlat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return shapely.transform(geom, to_lonlat.transform, interleaved=False)


def _series_csv(path: Path, series: xr.DataArray, name: str, factor: float = 1.0) -> None:
    times = pd.DatetimeIndex(series["time"].values).strftime("%Y-%m-%dT%H:%MZ")
    pd.DataFrame({"time": times, name: np.round(series.values * factor, 4)}).to_csv(
        path, index=False)


def _land_polygon(world: DemoWorld):
    land = (~world.static["sea"].values).astype("uint8")
    polys = [shapely.geometry.shape(g) for g, v in
             shapes(land, mask=land.astype(bool), transform=world.grid.transform) if v == 1]
    return max(polys, key=lambda p: p.area)  # the main land mass


def _labels(world: DemoWorld, labels_from: str, every_h: int) -> xr.Dataset:
    if labels_from == "satellite":
        maps = [world.observed_water(t) for t in world.satellite_passes["time"]]
        water = xr.concat(maps, dim="time")
    else:  # the world's simulated water every few hours (a dense stand-in for labels)
        times = world.forcing["time"].values[::every_h]
        water = world.water(times).astype("int8")
    water = water.drop_vars([c for c in water.coords if c not in ("time", "y", "x")])
    water = water.rio.write_crs(world.grid.crs)
    water.attrs = {"flag_values": [-1, 0, 1], "flag_meanings": "unknown dry water"}
    return water.to_dataset(name="water")


def export_inputs(folder: Path, world: DemoWorld, labels_from: str = "satellite",
                  label_every_h: int = 6) -> dict[str, Path]:
    """Write the world's inputs to ``folder``; returns ``{kind: path}``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    s, g = world.static, world.grid
    files = {k: folder / n for k, n in (
        ("terrain", "terrain.tif"), ("rain", "rain.csv"), ("evaporation", "evaporation.csv"),
        ("sea_level", "sea_level.csv"), ("groundwater", "groundwater.tif"),
        ("dikes", "dikes.geojson"), ("boundary", "boundary.geojson"), ("labels", "labels.nc"))}
    terrain = s["elevation"].where(~s["sea"]).astype("float32")
    terrain.rio.write_nodata(np.nan, encoded=True).rio.to_raster(files["terrain"],
                                                                 compress="deflate")
    # what a municipality can have: the national model's field, not the world's own
    depth = g.data_array(world.static["groundwater_model_depth"].values.astype("float32"),
                         "groundwater_depth", "m")
    depth.rio.to_raster(files["groundwater"], compress="deflate")
    _series_csv(files["rain"], world.forcing["rain"], "rain")
    _series_csv(files["evaporation"], world.forcing["evaporation"], "evaporation")
    _series_csv(files["sea_level"], world.forcing["sea_level"], "sea_level")
    dike = {"type": "Feature", "geometry": shapely.geometry.mapping(
        _lonlat(world.dike_line, g.crs)), "properties": {"name": "Nordre Dige",
                                                         "crest_m": round(world.dike_crest_min, 2)}}
    files["dikes"].write_text(json.dumps({"type": "FeatureCollection", "features": [dike]}))
    outline = {"type": "Feature", "geometry": shapely.geometry.mapping(
        _lonlat(_land_polygon(world), g.crs)), "properties": {"KOMKODE": "0999",
                                                              "KOMNAVN": "Demo-kommunen"}}
    files["boundary"].write_text(json.dumps({"type": "FeatureCollection",
                                             "features": [outline]}))
    labels = _labels(world, labels_from, label_every_h)
    labels.to_netcdf(files["labels"], encoding={"water": {"zlib": True, "complevel": 4}})
    return files


def world_parser(description: str) -> argparse.ArgumentParser:
    """The arguments of a command that exports a demo world's files to a folder."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--size-m", type=float, default=3000.0)
    parser.add_argument("--years", type=float, default=1.0)
    parser.add_argument("--start", default=None,
                        help="UTC start of the history (default: so that it ends now)")
    parser.add_argument("--seed", type=int, default=42)
    return parser


def world_from_args(args: argparse.Namespace, **config: object) -> DemoWorld:
    """The world :func:`world_parser`'s arguments ask for (``config``: more of its settings)."""
    start = args.start or demo_start_ending_now(args.years)
    return build_demo_world(DemoWorldConfig(size_m=args.size_m, years=args.years,
                                            start=start, seed=args.seed, **config))


def print_files(files: dict[str, Path], next_line: str, notes: tuple[str, ...] = ()) -> None:
    """The written files, one per line, ``notes``, then the command that makes an area."""
    for kind, path in files.items():
        print(f"{kind:12s} {path}")
    for line in notes:
        print(line)
    print(f"\n{next_line}")


def main(argv: list[str] | None = None) -> None:
    parser = world_parser(__doc__.splitlines()[0])
    parser.add_argument("--labels", choices=("satellite", "simulated"), default="satellite")
    args = parser.parse_args(argv)
    files = export_inputs(args.folder, world_from_args(args), labels_from=args.labels)
    inputs = " ".join(f"--input {k}={p}" for k, p in files.items() if k != "boundary")
    print_files(files, f"next: wetindex init --aoi {files['boundary']} --name my-area {inputs}")


if __name__ == "__main__":
    main()
