"""Copernicus downloads against real loopback servers: the token survives a redirect to a
trusted host and never reaches another; s3:// links map to the OData node route;
429/5xx are retried; the file is streamed to the cache."""

from __future__ import annotations

import json

import httpx
import pytest
from loopback import LoopbackServer
from sources_helpers import CATALOG

from wetindex.sources import copernicus_stac
from wetindex.sources.cache import ResponseCache
from wetindex.sources.errors import SourceError
from wetindex.sources.http import HttpClient
from wetindex.sources.session import SourceSession

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB, streamed in chunks


def token_route(handler):
    return 200, {"content-type": "application/json"}, json.dumps(
        {"access_token": "AT-loop", "expires_in": 600}).encode()


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("CDSE_USERNAME", "user@example.org")
    monkeypatch.setenv("CDSE_PASSWORD", "pw-secret")


def make_session(tmp_path, trusted: LoopbackServer, sleeps: list[float]) -> SourceSession:
    entry = CATALOG["copernicus_stac"].model_copy(update={
        "base_url": trusted.url("/v1"),
        "endpoints": {"token": trusted.url("/token"), "download": trusted.url("/odata/v1")}})
    return SourceSession(entry, HttpClient(sleep=sleeps.append), ResponseCache(tmp_path / "c"))


def test_token_kept_across_trusted_redirect_and_s3_link_mapped(tmp_path, env):
    busy = {"n": 0}

    def zipper(handler):
        busy["n"] += 1
        if busy["n"] == 1:  # the storage host is busy once: retried after Retry-After
            return 503, {"Retry-After": "2"}, b"busy"
        return 200, {"content-type": "image/tiff"}, PAYLOAD

    with LoopbackServer({"/file": zipper}) as storage, LoopbackServer({"/token": token_route}) \
            as cdse:
        node = "/odata/v1/Products(uuid-1)/Nodes(X.SAFE)/Nodes(measurement)/Nodes(vv.tiff)/$value"
        cdse.routes[node] = lambda h: (307, {"Location": storage.url("/file")}, b"")
        sleeps: list[float] = []
        session = make_session(tmp_path, cdse, sleeps)
        path = copernicus_stac.download_asset(
            session, "s3://eodata/Sentinel-1/SAR/IW_GRDH_1S/2024/11/02/X.SAFE/measurement/vv.tiff",
            product_href="https://download.dataspace.copernicus.eu/odata/v1/Products(uuid-1)/$value")
    assert path.read_bytes() == PAYLOAD
    assert [s["path"] for s in cdse.seen] == ["/token", node, node]
    # storage is the same host as the catalog's endpoints (trusted): the token goes along
    assert all(s["headers"].get("Authorization") == "Bearer AT-loop" for s in storage.seen)
    assert len(storage.seen) == 2 and sleeps == [2.0]
    stored = b"".join(p.read_bytes() for p in (tmp_path / "c" / "requests").glob("*.json"))
    assert b"AT-loop" not in stored and b"pw-secret" not in stored
    assert not list((tmp_path / "c" / "partial").glob("*"))  # no partial file left
    # served from the cache now, without any server
    assert copernicus_stac.download_asset(
        session, "s3://eodata/Sentinel-1/SAR/IW_GRDH_1S/2024/11/02/X.SAFE/measurement/vv.tiff",
        product_href="https://x/odata/v1/Products(uuid-1)/$value") == path


def test_token_never_sent_to_an_untrusted_redirect_target(tmp_path, env):
    with LoopbackServer({"/file": lambda h: (200, {}, b"data")}, host="localhost") as other, \
            LoopbackServer({"/token": token_route}) as cdse:
        cdse.routes["/odata/v1/Products(p)/$value"] = lambda h: (
            302, {"Location": other.url("/file")}, b"")
        session = make_session(tmp_path, cdse, [])
        path = copernicus_stac.download_asset(session, cdse.url("/odata/v1/Products(p)/$value"))
    assert path.read_bytes() == b"data"
    assert cdse.seen[1]["headers"]["Authorization"] == "Bearer AT-loop"
    assert "Authorization" not in other.seen[0]["headers"]


def test_trusted_hosts_are_copernicus_over_https():
    session = SourceSession(CATALOG["copernicus_stac"], HttpClient(), ResponseCache("/tmp/x"))
    ok = copernicus_stac.trusted_host
    assert ok(session, httpx.URL("https://zipper.dataspace.copernicus.eu/odata/v1/x"))
    assert ok(session, httpx.URL("https://download.dataspace.copernicus.eu/x"))
    assert not ok(session, httpx.URL("http://zipper.dataspace.copernicus.eu/x"))
    assert not ok(session, httpx.URL("https://dataspace.copernicus.eu.evil.example/x"))
    assert not ok(session, httpx.URL("https://example.org/x"))


def test_unmappable_s3_link_and_404_are_one_clear_error(tmp_path, env):
    session = SourceSession(CATALOG["copernicus_stac"], HttpClient(), ResponseCache(tmp_path))
    with pytest.raises(SourceError, match="product UUID"):
        copernicus_stac.https_href(session, "s3://eodata/Sentinel-1/X.SAFE/manifest.safe")
    with LoopbackServer({"/token": token_route}) as cdse:
        session = make_session(tmp_path, cdse, [])
        with pytest.raises(SourceError, match="HTTP 404") as err:
            copernicus_stac.download_asset(session, cdse.url("/odata/v1/Products(q)/$value"))
    assert "AT-loop" not in str(err.value)
