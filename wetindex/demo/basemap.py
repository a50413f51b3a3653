"""Roads, buildings, water and addresses for the demo world, made from its own layers.

A citizen recognises a map by its streets and houses, so the demo site needs them
too. They are laid out from the demo world's land cover, never drawn by hand:

* **streets**: in every settlement (town ``7``, summer houses ``3``) a street runs
  east–west every ``street_gap`` metres along each stretch of that land cover, and a
  few collector roads run north–south through it; two main roads join the
  settlements ("Kystvejen" east–west behind the coast, "Nørholmvej" north–south
  through the polder);
* **buildings**: houses on both sides of each settlement street at a fixed frontage,
  wherever the house's own cell is that settlement's land cover; each gets an address
  (street, number, postcode, town) in the Danish style (odd numbers on one side);
* **water**: the sea, the lake and the stream as polygons from their masks.

Deterministic (no randomness): the same world gives the same base map. Layers are
GeoDataFrames in the grid CRS, the shape :func:`wetindex.site.basemap.write_basemap`
takes; addresses a DataFrame of ``label``, ``x``, ``y``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features
import shapely
from shapely.geometry import LineString, box, shape

from wetindex.grid import AreaGrid

POSTCODE, TOWN = "9990", "Vesterby"


@dataclass(frozen=True)
class Settlement:
    """How one land-cover class is built up."""

    code: int
    street_gap: float  # m between east-west streets
    frontage: float  # m between houses along a street
    house: tuple[float, float]  # width, depth [m]
    setback: float  # m from the street's centre line to the house's centre
    names: tuple[str, ...]


SETTLEMENTS = (
    Settlement(3, 150.0, 40.0, (9.0, 7.0), 22.0, (
        "Klitrosevej", "Hjelmevej", "Lyngvej", "Mågevej", "Ternevej", "Sandvej", "Revlingevej",
        "Marskvej", "Kogvej", "Slusevej", "Strandengen", "Digevej", "Rylevej", "Vibevej",
        "Tangvej", "Klittens Kvarter", "Hedevej", "Sivvej", "Havtornvej", "Kobbelvej")),
    Settlement(7, 90.0, 28.0, (12.0, 9.0), 16.0, (
        "Storegade", "Skolevej", "Kirkevej", "Møllevej", "Torvegade", "Havevej",
        "Søndergade", "Nørregade", "Bakkevej", "Engvej", "Violvej", "Rosenvej", "Birkevej",
        "Egevej", "Pilevej", "Lindevej", "Askevej", "Bøgevej", "Granvej", "Elmevej",
        "Tjørnevej", "Hybenvej", "Lærkevej", "Solsortvej", "Vestergade", "Østergade")),
)

#: Shortest street kept [m].
MIN_STREET = 120.0


@dataclass
class DemoBasemap:
    """The demo's base-map layers (grid CRS) and addresses."""

    roads: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    water: gpd.GeoDataFrame
    addresses: pd.DataFrame

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """For ``build_site(basemap=...)``."""
        return {"water": self.water, "roads": self.roads, "buildings": self.buildings}


def _runs(line: np.ndarray) -> list[tuple[int, int]]:
    """Start and end (exclusive) index of each run of True."""
    padded = np.concatenate([[False], line, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _x(grid: AreaGrid, col: float) -> float:
    return grid.x_min + col * grid.cell_size


def _y(grid: AreaGrid, row: float) -> float:
    return grid.y_max - row * grid.cell_size


def _settlement(grid: AreaGrid, land_cover: np.ndarray, s: Settlement, roads: list[dict],
                houses: list[dict]) -> None:
    mask = land_cover == s.code
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return
    cs = grid.cell_size
    step = max(1, round(s.street_gap / cs))
    name_i = 0
    for r in range(int(rows[0]) + step // 2, int(rows[-1]) + 1, step):
        for c0, c1 in _runs(mask[r]):
            if (c1 - c0) * cs < MIN_STREET:
                continue
            name = s.names[name_i % len(s.names)]
            if name_i >= len(s.names):
                name = f"{name} {name_i // len(s.names) + 1}"
            name_i += 1
            y = _y(grid, r + 0.5)
            roads.append({"name": name, "kind": "residential",
                          "geometry": LineString([(_x(grid, c0), y), (_x(grid, c1), y)])})
            number = {1: 1, -1: 2}  # odd numbers north of the street, even south
            x = _x(grid, c0) + s.frontage / 2
            while x < _x(grid, c1) - s.frontage / 4:
                for side in (1, -1):
                    hy = y + side * s.setback
                    col = int((x - grid.x_min) / cs)
                    row = int((grid.y_max - hy) / cs)
                    if 0 <= row < grid.ny and 0 <= col < grid.nx and mask[row, col]:
                        w, d = s.house
                        houses.append({
                            "kind": "summer_house" if s.code == 3 else "house",
                            "street": name, "number": number[side], "x": x, "y": hy,
                            "geometry": box(x - w / 2, hy - d / 2, x + w / 2, hy + d / 2)})
                    number[side] += 2
                x += s.frontage
    # collector roads north-south through the settlement, every ~600 m
    cols = np.flatnonzero(mask.any(axis=0))
    cstep = max(1, round(600.0 / cs))
    for c in range(int(cols[0]) + cstep // 2, int(cols[-1]) + 1, cstep):
        for r0, r1 in _runs(mask[:, c]):
            if (r1 - r0) * cs < MIN_STREET:
                continue
            x = _x(grid, c + 0.5)
            roads.append({"name": "", "kind": "residential",
                          "geometry": LineString([(x, _y(grid, r0)), (x, _y(grid, r1))])})


def _main_roads(grid: AreaGrid, land_cover: np.ndarray, roads: list[dict]) -> None:
    """Two main roads on land (sea and lake cut them; bridges over the stream)."""
    land = ~np.isin(land_cover, (1, 8))
    r = int(grid.ny * 0.315)
    for c0, c1 in _runs(land[r]):
        y = _y(grid, r + 0.5)
        roads.append({"name": "Kystvejen", "kind": "main",
                      "geometry": LineString([(_x(grid, c0), y), (_x(grid, c1), y)])})
    c = int(grid.nx * 0.55)
    polder_sh = land_cover[:, c] == 3
    top = int(np.flatnonzero(polder_sh)[0]) if polder_sh.any() else int(grid.ny * 0.15)
    for r0, r1 in _runs(land[top:, c]):
        x = _x(grid, c + 0.5)
        roads.append({"name": "Nørholmvej", "kind": "main",
                      "geometry": LineString([(x, _y(grid, top + r0)), (x, _y(grid, top + r1))])})


def _water(grid: AreaGrid, static) -> list[dict]:
    out = []
    for name, kind in (("sea", "sea"), ("lake", "lake"), ("stream", "stream")):
        if name not in static:
            continue
        mask = np.asarray(static[name].values, dtype=bool)
        if name == "stream":  # a thin stream: widen it so it shows at every zoom
            grown = mask.copy()
            grown[1:] |= mask[:-1]
            grown[:, 1:] |= mask[:, :-1]
            mask = grown
        for geom, value in rasterio.features.shapes(mask.astype("uint8"), mask=mask,
                                                    transform=grid.transform):
            if value == 1:
                out.append({"kind": kind, "name": "", "geometry": shape(geom)
                            .simplify(grid.cell_size, preserve_topology=True)})
    return out


def demo_basemap(world) -> DemoBasemap:
    """Roads, buildings, water and addresses of a demo world (see module docstring).

    Parameters
    ----------
    world : wetindex.demo.DemoWorld
        A built or loaded demo world (its ``grid`` and ``static`` land cover are used).
    """
    grid: AreaGrid = world.grid
    land_cover = np.asarray(world.static["land_cover"].values)
    roads: list[dict] = []
    houses: list[dict] = []
    for s in SETTLEMENTS:
        _settlement(grid, land_cover, s, roads, houses)
    _main_roads(grid, land_cover, roads)
    crs = grid.crs
    roads_gdf = gpd.GeoDataFrame(roads, geometry="geometry", crs=crs)
    houses_gdf = gpd.GeoDataFrame(houses, geometry="geometry", crs=crs)
    water = gpd.GeoDataFrame(_water(grid, world.static), geometry="geometry", crs=crs)
    addresses = pd.DataFrame({
        "label": [f"{h['street']} {h['number']}, {POSTCODE} {TOWN}" for h in houses],
        "x": [h["x"] for h in houses], "y": [h["y"] for h in houses]})
    return DemoBasemap(roads=roads_gdf, buildings=houses_gdf[["kind", "geometry"]],
                       water=water, addresses=addresses)


def write_demo_basemap(world, folder) -> dict[str, str]:
    """Write the demo's base map as an operator would give it: GeoJSON layers and an
    address CSV (``x``/``y`` in the grid CRS). Returns kind -> path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    bm = demo_basemap(world)
    out = {}
    for name, gdf in bm.layers().items():
        path = folder / f"{name}.geojson"
        gdf.to_file(path, driver="GeoJSON")
        out[name] = str(path)
    path = folder / "addresses.csv"
    bm.addresses.to_csv(path, index=False)
    out["addresses"] = str(path)
    return out


def addresses_lonlat(addresses: pd.DataFrame, crs) -> pd.DataFrame:
    """``label``, ``lon``, ``lat`` from grid-CRS ``x``/``y`` (what the site search takes)."""
    pts = shapely.points(addresses["x"].to_numpy(), addresses["y"].to_numpy())
    ll = gpd.GeoSeries(pts, crs=crs).to_crs("EPSG:4326")
    return pd.DataFrame({"label": addresses["label"].to_numpy(), "lon": ll.x.to_numpy(),
                         "lat": ll.y.to_numpy()})
