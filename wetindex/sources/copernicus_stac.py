"""Copernicus Data Space: STAC search for Sentinel-1 GRD and Sentinel-2 L2A, asset download.

Search (no account): ``POST {base}/search`` with ``collections``, ``bbox`` (lon/lat),
``datetime`` and ``limit``; pages follow ``links rel=next`` — a POST link carries the
next body (``merge`` = merge it into the last one), a GET link its query. Items become
a GeoDataFrame (id, collection, datetime, platform, orbit state, cloud cover,
asset hrefs, footprint in WGS84).

Download: assets on ``download.dataspace.copernicus.eu`` need a Bearer token from
the CDSE identity service (``endpoints.token`` in the catalog; form fields
``client_id=cdse-public``, ``grant_type=password``, ``username``, ``password``),
read from ``CDSE_USERNAME`` / ``CDSE_PASSWORD``. The token request is never cached
and the token never recorded; the asset is cached by URL.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
from shapely.geometry import shape

from wetindex.sources.errors import SourceError
from wetindex.sources.http import describe_request
from wetindex.sources.observations import rfc3339_interval, utc_naive
from wetindex.sources.session import MAX_PAGES, SourceSession

COLLECTIONS = {"s1_grd": "sentinel-1-grd", "s2_l2a": "sentinel-2-l2a"}
USER_VARIABLE = "CDSE_USERNAME"
PASSWORD_VARIABLE = "CDSE_PASSWORD"


def search_body(collection: str, bbox: tuple[float, float, float, float], start: Any,
                end: Any, limit: int = 100) -> dict[str, Any]:
    """The JSON body of a STAC item search."""
    return {"collections": [collection], "bbox": [round(v, 5) for v in bbox],
            "datetime": rfc3339_interval(start, end), "limit": limit}


def search(session: SourceSession, collection: str, bbox: tuple[float, float, float, float],
           start: Any, end: Any, *, limit: int = 100, require: bool = True
           ) -> gpd.GeoDataFrame:
    """Every item of ``collection`` over ``bbox`` between ``start`` and ``end``."""
    url = session.entry.url("search")
    body: dict[str, Any] | None = search_body(collection, bbox, start, end, limit)
    first = json.dumps(body)
    method, params = "POST", None
    items: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        doc = session.fetch_json(url, params, method=method, json_body=body)
        if not isinstance(doc, dict) or not isinstance(doc.get("features"), list):
            raise SourceError(session.source, f"POST {url} {first}",
                              "the answer is not a STAC ItemCollection",
                              "check the base_url in data_sources/ (the new STAC is /v1)")
        items.extend(doc["features"])
        nxt = next((link for link in doc.get("links", []) if link.get("rel") == "next"), None)
        if nxt is None or not doc["features"]:
            break
        if nxt.get("method", "GET").upper() == "POST":
            body = {**body, **nxt.get("body", {})} if nxt.get("merge") else nxt.get("body", body)
            url, method, params = nxt.get("href", url), "POST", None
        else:
            url, method, body, params = nxt["href"], "GET", None, None
    request = f"POST {session.entry.url('search')} {first}"
    if not items:
        if require:
            raise SourceError(session.source, request,
                              f"empty answer: no {collection} scenes in this window",
                              "widen the time window; Sentinel revisits Denmark every few days")
        return gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
    return items_frame(items, source=session.source, request=request)


def items_frame(items: list[dict[str, Any]], *, source: str, request: str) -> gpd.GeoDataFrame:
    """STAC items as a GeoDataFrame (see module docstring)."""
    rows = []
    for i, item in enumerate(items):
        props = item.get("properties") or {}
        if "id" not in item or "geometry" not in item or "datetime" not in props:
            raise SourceError(source, request,
                              f"changed schema: item {i} lacks id, geometry or "
                              "properties.datetime", "compare with the STAC specification")
        rows.append({
            "id": item["id"], "collection": item.get("collection", ""),
            "datetime": props["datetime"], "platform": props.get("platform", ""),
            "orbit_state": props.get("sat:orbit_state", ""),
            "cloud_cover": props.get("eo:cloud_cover"),
            "assets": json.dumps({k: a.get("href", "") for k, a in
                                  (item.get("assets") or {}).items()}),
            "geometry": shape(item["geometry"])})
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    frame["datetime"] = utc_naive(frame["datetime"])
    frame.attrs.update(source=source, request=request)
    return frame.sort_values("datetime").reset_index(drop=True)


#: tokens kept in memory only, per session, until shortly before they expire
_TOKENS: dict[int, tuple[str, float]] = {}
TOKEN_MARGIN_S = 60.0


def access_token(session: SourceSession) -> str:
    """A short-lived CDSE access token (about 10 min) from the environment's account.

    The token is reused from memory while valid; it is never written anywhere.
    """
    held = _TOKENS.get(id(session))
    if held is not None and held[1] > time.monotonic():
        return held[0]
    username = session.credential(USER_VARIABLE, "downloads from Copernicus Data Space need "
                                  "a free account")
    password = session.credential(PASSWORD_VARIABLE, "the password of that account")
    url = session.entry.endpoints.get("token")
    if not url:
        raise SourceError(session.source, "(token)", "no token endpoint in the catalog",
                          "add endpoints: {token: ...} to data_sources/"
                          f"{session.source}.yaml")
    if session.cache.offline:
        raise SourceError(session.source, f"POST {url}", "offline mode: cannot get a token",
                          "download the asset once with network access")
    response = session.http.request(session.source, "POST", url, data={
        "client_id": "cdse-public", "grant_type": "password",
        "username": username, "password": password})
    try:
        doc = response.json()
        token = str(doc["access_token"])
    except (ValueError, KeyError):
        raise SourceError(session.source, f"POST {url}", "the token answer has no access_token",
                          "check the account; accounts with 2FA need a TOTP") from None
    lifetime = float(doc.get("expires_in", 600)) - TOKEN_MARGIN_S
    _TOKENS[id(session)] = (token, time.monotonic() + max(lifetime, 0.0))
    return token


def download_asset(session: SourceSession, href: str) -> Path:
    """An asset into the cache (Bearer token when not cached); its cached path."""
    from wetindex.sources.cache import request_key

    if session.cache.lookup(request_key("GET", href, {})) is None and not session.cache.offline:
        headers = {"Authorization": f"Bearer {access_token(session)}"}
    else:
        headers = None
    answer = session.fetch(href, secret_headers=headers)
    if not answer.content:
        raise SourceError(session.source, describe_request("GET", href), "empty download",
                          "fetch again")
    return session.cache.object_path(answer.provenance.checksum)
