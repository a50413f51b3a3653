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
and the token never recorded; the asset is streamed to the cache by URL. The token
goes only to Copernicus hosts, also after a redirect; ``s3://eodata/...`` links are
mapped to the OData node route on the download host.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import httpx
import pandas as pd
from shapely.geometry import shape

from wetindex.sources.cache import request_key
from wetindex.sources.errors import OfflineMissError, SourceError
from wetindex.sources.http import describe_request
from wetindex.sources.observations import rfc3339_interval
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
            "polarizations": ",".join(props.get("sar:polarizations") or []),
            "assets": json.dumps({k: a.get("href", "") for k, a in
                                  (item.get("assets") or {}).items()}),
            "geometry": shape(item["geometry"])})
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    # STAC datetimes come with and without fractional seconds in one answer
    frame["datetime"] = pd.DatetimeIndex(pd.to_datetime(frame["datetime"], utc=True,
                                                        format="ISO8601")).tz_localize(None)
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


#: hosts (and their subdomains) a CDSE token may be sent to, besides the catalog's own
TRUSTED_DOMAIN = "dataspace.copernicus.eu"
#: the OData download route that ``s3://eodata/...`` links map to
DEFAULT_DOWNLOAD = "https://download.dataspace.copernicus.eu/odata/v1"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_PRODUCT_UUID = re.compile(r"Products\(([^)]+)\)")


def trusted_host(session: SourceSession, url: httpx.URL) -> bool:
    """Whether the CDSE token may go to ``url``: a Copernicus host over HTTPS.

    Trusted are ``*.dataspace.copernicus.eu`` and the hosts of the catalog's
    ``endpoints`` (``download``, ``token``); anything else never sees the token.
    Plain HTTP is allowed only for a loopback catalog endpoint (tests, a local mirror).
    """
    host = url.host or ""
    own = {httpx.URL(u).host for u in session.entry.endpoints.values() if "://" in u}
    if host in own:
        return url.scheme == "https" or host in _LOOPBACK
    return url.scheme == "https" and (host == TRUSTED_DOMAIN or
                                      host.endswith("." + TRUSTED_DOMAIN))


def https_href(session: SourceSession, href: str, product_href: str | None = None) -> str:
    """An asset link as an HTTPS download URL.

    ``s3://eodata/<...>/<NAME>.SAFE/<dir>/<file>`` becomes the documented OData node
    route ``{download}/Products(<uuid>)/Nodes(<NAME>.SAFE)/Nodes(<dir>)/Nodes(<file>)/$value``;
    the product's UUID comes from its ``Products(<uuid>)/$value`` link.
    """
    if not href.startswith("s3://"):
        return href
    parts = href.removeprefix("s3://").split("/")
    if parts[0] != "eodata":
        raise SourceError(session.source, href, "an s3:// link outside the eodata bucket",
                          "only Copernicus eodata links can be mapped to HTTPS downloads")
    root = next((i for i, p in enumerate(parts) if p.endswith((".SAFE", ".SEN3"))), None)
    uuid = _PRODUCT_UUID.search(product_href or "")
    if root is None or uuid is None:
        raise SourceError(session.source, href, "cannot map this s3:// link to the HTTPS "
                          "download route (no .SAFE folder in it, or no product UUID)",
                          "give the item's 'product' asset link (Products(<uuid>)/$value) too")
    base = session.entry.endpoints.get("download", DEFAULT_DOWNLOAD).rstrip("/")
    nodes = "/".join(f"Nodes({p})" for p in parts[root:] if p)
    return f"{base}/Products({uuid.group(1)})/{nodes}/$value"


def download_asset(session: SourceSession, href: str, *, product_href: str | None = None
                   ) -> Path:
    """An asset streamed into the cache (Bearer token when not cached); its cached path.

    ``s3://eodata`` links are mapped to HTTPS (:func:`https_href`). The token is
    sent to trusted Copernicus hosts only, and kept across their redirects (the
    download host redirects to another Copernicus host); a redirect elsewhere is
    followed without it. The file goes to disk in chunks, never whole into memory;
    429 and 5xx are retried.
    """
    url = https_href(session, href, product_href)
    key = request_key("GET", url, {})
    hit = session.cache.lookup_file(key)
    if hit is not None:
        return hit[0]
    if session.cache.offline:
        raise OfflineMissError(session.source, describe_request("GET", url),
                               str(session.cache.root))
    token = access_token(session)

    def headers_for(hop: httpx.URL) -> dict[str, str] | None:
        return {"Authorization": f"Bearer {token}"} if trusted_host(session, hop) else None

    partial = session.cache.root / "partial" / f"{key}.part"
    headers = session.http.download(session.source, url, partial, headers_for=headers_for)
    if partial.stat().st_size == 0:
        partial.unlink()
        raise SourceError(session.source, describe_request("GET", url), "empty download",
                          "fetch again")
    prov = session.cache.store_file(key, partial, source=session.source, url=url,
                                    licence=session.entry.licence,
                                    content_type=headers.get("content-type", ""))
    return session.cache.object_path(prov.checksum)
