"""Municipality boundaries: the DAGI service, or a boundary file the user gives.

The DAWA API (``api.dataforsyningen.dk/kommuner``) closed on 1 July 2026 and is not
used. Two routes:

* :func:`boundary_from_file` — GeoJSON, GeoPackage or shapefile (anything GDAL reads),
  with the municipality picked by code (``KOMKODE``, ``kommunekode``, ``kode``) or
  name (``KOMNAVN``, ``navn``) when the file holds several.
* :func:`fetch_boundary` — the DAGI municipality layer of Datafordeleren as an OGC WFS
  2.0 (``DAGI_10MULTIGEOM_GMLSFP``, base URL in the catalog), ``GetFeature`` of type
  ``Kommuneinddeling`` filtered (FES 2.0) on ``kommunekode``, EPSG:25832. The service
  answers GML 3.2 (simple-features profile), parsed with GDAL; a GeoJSON answer is
  read too. The API key comes from ``DATAFORDELER_API_KEY`` and is sent as ``apiKey``
  [3P: the spelling other callers of this WFS use].

Both return a one-row GeoDataFrame (``code``, ``name``, ``geometry``) in the CRS
asked for (default EPSG:25832), with ``attrs["source"]`` saying which route.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.ops import unary_union

from wetindex.grid import AreaGrid
from wetindex.sources.errors import SourceError
from wetindex.sources.http import describe_request
from wetindex.sources.session import SourceSession

CODE_FIELDS = ("KOMKODE", "kommunekode", "kode", "code")
NAME_FIELDS = ("KOMNAVN", "navn", "name")
KEY_VARIABLE = "DATAFORDELER_API_KEY"


def municipality_code(code: str | int) -> str:
    """A kommunekode as four digits (``849`` → ``"0849"``)."""
    text = str(code).strip()
    if not text.isdigit() or len(text) > 4:
        raise ValueError(f"{code!r} is not a municipality code (up to four digits, e.g. 0849)")
    return text.zfill(4)


def _field(frame: pd.DataFrame, candidates: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in frame.columns}
    return next((lower[c.lower()] for c in candidates if c.lower() in lower), None)


def select_municipality(frame: gpd.GeoDataFrame, *, code: str | None = None,
                        name: str | None = None, origin: str, crs: str = "EPSG:25832"
                        ) -> gpd.GeoDataFrame:
    """The one municipality of ``frame`` with ``code`` or ``name``, dissolved, in ``crs``."""
    if frame.empty:
        raise SourceError(origin, origin, "empty answer: no boundary features",
                          "check the municipality code/name and the file or service")
    if frame.crs is None:
        raise SourceError(origin, origin, "the boundary has no CRS",
                          "save the file with its CRS (GeoJSON is WGS84 by definition)")
    code_field, name_field = _field(frame, CODE_FIELDS), _field(frame, NAME_FIELDS)
    chosen = frame
    if code is not None:
        if code_field is None:
            raise SourceError(origin, origin,
                              f"no municipality code field ({', '.join(CODE_FIELDS)}); fields: "
                              f"{', '.join(map(str, frame.columns))}",
                              "select by name, or give a file with one municipality")
        codes = frame[code_field].astype(str).str.strip().str.zfill(4)
        chosen = frame[codes == municipality_code(code)]
    elif name is not None and name_field is not None:
        chosen = frame[frame[name_field].astype(str).str.casefold() == name.casefold()]
    elif len(frame) > 1 and code_field is not None:
        raise SourceError(origin, origin, f"{len(frame)} municipalities in the file",
                          "pick one with its code (e.g. 0849) or name")
    if chosen.empty:
        raise SourceError(origin, origin,
                          f"no municipality with code {code!r}" if code else f"no {name!r}",
                          "check the code (four digits, e.g. 0849 Jammerbugt) or the name")
    geometry = unary_union(list(chosen.to_crs(crs).geometry.force_2d()))
    out = gpd.GeoDataFrame(
        {"code": [municipality_code(chosen[code_field].iloc[0]) if code_field else ""],
         "name": [str(chosen[name_field].iloc[0]) if name_field else ""]},
        geometry=[geometry], crs=crs)
    out.attrs["source"] = origin
    return out


def boundary_from_file(path: Path, *, code: str | None = None, name: str | None = None,
                       crs: str = "EPSG:25832") -> gpd.GeoDataFrame:
    """The municipality boundary from a GeoJSON, GeoPackage or shapefile."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such boundary file")
    try:
        frame = gpd.read_file(path)
    except Exception as err:  # GDAL raises many types for unreadable files
        raise SourceError(f"file {path}", str(path), f"cannot read the boundary file ({err})",
                          "give a GeoJSON, GeoPackage or shapefile") from None
    return select_municipality(frame, code=code, name=name, origin=f"file {path}", crs=crs)


def wfs_query(code: str, type_name: str) -> dict[str, str]:
    """WFS 2.0 GetFeature parameters for one municipality (without the key)."""
    return {"service": "WFS", "version": "2.0.0", "request": "GetFeature",
            "typeNames": type_name, "srsName": "EPSG:25832",
            "filter": ('<fes:Filter xmlns:fes="http://www.opengis.net/fes/2.0">'
                       "<fes:PropertyIsEqualTo><fes:ValueReference>kommunekode"
                       f"</fes:ValueReference><fes:Literal>{municipality_code(code)}"
                       "</fes:Literal></fes:PropertyIsEqualTo></fes:Filter>")}


def read_wfs_answer(content: bytes, *, source: str, request: str) -> gpd.GeoDataFrame:
    """Features of a WFS answer: GML (what the DAGI WFS sends) or GeoJSON."""
    head = content.lstrip()[:1]
    if head == b"{":
        try:
            doc = json.loads(content)
        except json.JSONDecodeError as err:
            raise SourceError(source, request, f"the answer is not complete JSON ({err.msg})",
                              "fetch again; the answer was cut off") from None
        if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
            raise SourceError(source, request, "the answer is not a GeoJSON FeatureCollection",
                              "check typeNames against the service's capabilities")
        if not doc.get("features"):
            return gpd.GeoDataFrame()
        return gpd.read_file(json.dumps(doc))
    if head != b"<" or b"FeatureCollection" not in content[:2000]:
        text = content[:200].decode("utf-8", "replace")
        raise SourceError(source, request, f"the answer is not a WFS FeatureCollection "
                          f"({text!r})", "an exception report or an error page: read it, "
                          "check typeNames and the key")
    with tempfile.TemporaryDirectory() as folder:  # GDAL writes a .gfs schema beside it
        path = Path(folder) / "answer.gml"
        path.write_bytes(content)
        try:
            return gpd.read_file(path)
        except Exception as err:  # GDAL raises many types for a cut-off or odd GML
            if b'numberReturned="0"' in content:
                return gpd.GeoDataFrame()
            raise SourceError(source, request, f"the GML answer cannot be read ({err})",
                              "fetch again; if it persists the schema changed") from None


def fetch_boundary(session: SourceSession, code: str, *, crs: str = "EPSG:25832",
                   type_name: str = "Kommuneinddeling") -> gpd.GeoDataFrame:
    """The municipality boundary from the DAGI WFS (see module docstring)."""
    key = session.credential(KEY_VARIABLE, "Datafordeleren's DAGI service needs an API key")
    params = wfs_query(code, type_name)
    request = describe_request("GET", session.entry.base_url, params)
    answer = session.fetch(session.entry.base_url, params, secret_params={"apiKey": key})
    frame = read_wfs_answer(answer.content, source=session.source, request=request)
    if frame.empty:
        raise SourceError(session.source, request,
                          f"empty answer: no municipality {municipality_code(code)}",
                          "check the code (four digits, e.g. 0849) or give a boundary file")
    if frame.crs is None or (frame.crs.to_epsg() == 4326 and abs(frame.total_bounds[0]) > 180):
        # asked for EPSG:25832; a GeoJSON without a crs member is read as WGS84 by default
        frame = frame.set_crs("EPSG:25832", allow_override=True)
    out = select_municipality(frame, code=code, origin=session.source, crs=crs)
    out.attrs.update(source=session.source, licence=session.entry.licence,
                     attribution=session.entry.attribution, request=request)
    return out


def grid_for_boundary(boundary: gpd.GeoDataFrame, cell_size: float = 10.0,
                      crs: str = "EPSG:25832", pad_m: float = 0.0) -> AreaGrid:
    """The smallest grid of ``cell_size`` cells (edges on multiples of it) covering the
    boundary plus ``pad_m``, for a new area's configuration."""
    west, south, east, north = boundary.to_crs(crs).total_bounds
    x_min = np.floor((west - pad_m) / cell_size) * cell_size
    y_max = np.ceil((north + pad_m) / cell_size) * cell_size
    nx = int(np.ceil((east + pad_m - x_min) / cell_size))
    ny = int(np.ceil((y_max - south + pad_m) / cell_size))
    return AreaGrid(crs, float(cell_size), float(x_min), float(y_max), nx, ny)
