"""The search index: addresses and place names, searched in the reader's browser.

The index is one JSON file built at publish time; ``search.js`` loads it from the
site itself when the reader first uses the search box, so no query ever leaves the
site. Each address is tied at build time to the place it lies in, so a hit opens
that place's page with the address marked.

Address files (the operator's, see README "Base map and addresses"):

* CSV with ``address`` (or ``street`` + ``number`` [+ ``postcode`` + ``city``]) and
  either ``lon``/``lat`` (WGS84) or ``x``/``y`` (the area's grid CRS). The Danish
  address register's CSV (DAWA: ``vejnavn``, ``husnr``, ``postnr``, ``postnrnavn``,
  ``wgs84koordinat_længde``, ``wgs84koordinat_bredde``) is read as it comes;
* GeoJSON/GeoPackage of points with one of those name fields (any CRS it declares).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from wetindex.site.places import PlaceSeries

#: Column aliases per meaning, first found wins.
_COLUMNS = {
    "address": ("address", "adresse", "betegnelse", "label"),
    "street": ("street", "vejnavn", "addr:street"),
    "number": ("number", "husnr", "housenumber", "addr:housenumber"),
    "postcode": ("postcode", "postnr", "addr:postcode"),
    "city": ("city", "postnrnavn", "addr:city"),
    "lon": ("lon", "longitude", "wgs84koordinat_længde"),
    "lat": ("lat", "latitude", "wgs84koordinat_bredde"),
    "x": ("x", "etrs89koordinat_øst"),
    "y": ("y", "etrs89koordinat_nord"),
}


class AddressFileError(ValueError):
    """An address file the site cannot read; the message names the file and the fix."""


def _pick(columns: list[str], meaning: str) -> str | None:
    lower = {c.lower(): c for c in columns}
    return next((lower[a] for a in _COLUMNS[meaning] if a in lower), None)


def _labels(df: pd.DataFrame, path: Path) -> pd.Series:
    cols = list(df.columns)
    if (col := _pick(cols, "address")) is not None:
        return df[col].astype(str)
    street, number = _pick(cols, "street"), _pick(cols, "number")
    if street is None or number is None:
        raise AddressFileError(
            f"{path}: no address column; give 'address', or 'street' and 'number' "
            f"(columns found: {', '.join(cols)})")
    label = df[street].astype(str) + " " + df[number].astype(str)
    postcode, city = _pick(cols, "postcode"), _pick(cols, "city")
    if postcode is not None and city is not None:
        label += ", " + df[postcode].astype(str) + " " + df[city].astype(str)
    return label


def load_addresses(path: Path, crs: Any) -> pd.DataFrame:
    """Read an address file into ``label``, ``lon``, ``lat`` (see module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise AddressFileError(f"{path}: address file not found; fix site.addresses in the config")
    if path.suffix.lower() == ".csv":
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        cols = list(df.columns)
        lon, lat = _pick(cols, "lon"), _pick(cols, "lat")
        x, y = _pick(cols, "x"), _pick(cols, "y")
        if lon and lat:
            lons, lats = df[lon].astype(float).to_numpy(), df[lat].astype(float).to_numpy()
        elif x and y:
            tr = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
            lons, lats = tr.transform(df[x].astype(float).to_numpy(),
                                      df[y].astype(float).to_numpy())
        else:
            raise AddressFileError(
                f"{path}: no coordinates; give 'lon'/'lat' (WGS84) or 'x'/'y' ({crs})")
        labels = _labels(df, path)
    else:
        import geopandas as gpd  # noqa: PLC0415 - geopandas takes ~1 s to import; only this path needs it

        gdf = gpd.read_file(path)
        if gdf.crs is None:
            raise AddressFileError(f"{path}: no CRS; save the file with its CRS declared")
        gdf = gdf.to_crs("EPSG:4326")
        pts = gdf.geometry.representative_point()
        lons, lats = pts.x.to_numpy(), pts.y.to_numpy()
        labels = _labels(pd.DataFrame(gdf.drop(columns="geometry")), path)
    out = pd.DataFrame({"label": labels.to_numpy(), "lon": np.asarray(lons, float),
                        "lat": np.asarray(lats, float)})
    bad = ~np.isfinite(out["lon"]) | ~np.isfinite(out["lat"])
    return out[~bad & (out["label"].str.strip() != "")].reset_index(drop=True)


def _natural(label: str) -> list[Any]:
    """Sort key putting "Vej 2" before "Vej 10"."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", label)]


def search_index(places: list[PlaceSeries], addresses: pd.DataFrame | None) -> dict[str, Any]:
    """The JSON the browser searches: places, and addresses with the place they are in.

    Addresses outside every place are left out (the site has nothing to say of them).
    """
    out_places = [{"n": s.place.name, "s": s.slug, "b": s.bounds} for s in places]
    out_addr: list[list[Any]] = []
    if addresses is not None and len(addresses):
        shapes = [shapely.geometry.shape(s.outline) for s in places]
        tree = shapely.STRtree(shapes)
        pts = shapely.points(addresses["lon"].to_numpy(), addresses["lat"].to_numpy())
        pt_idx, shape_idx = tree.query(pts, predicate="intersects")
        first: dict[int, int] = {}
        for p, s in zip(pt_idx.tolist(), shape_idx.tolist(), strict=True):
            first.setdefault(p, s)
        labels = addresses["label"].to_numpy()
        lats, lons = addresses["lat"].to_numpy(), addresses["lon"].to_numpy()
        # [label, index into "places", lat, lon]; 5 decimals is about 1 m
        for p, s in sorted(first.items()):
            out_addr.append([str(labels[p]), s, round(float(lats[p]), 5),
                             round(float(lons[p]), 5)])
        out_addr.sort(key=lambda a: _natural(a[0]))
    return {"version": 1, "places": out_places, "addresses": out_addr}
