"""The HTTP client, the cache, offline mode and credentials, over a mock transport."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest
from sources_helpers import json_response

from wetindex.sources.errors import CredentialMissingError, OfflineMissError, SourceError
from wetindex.sources.http import USER_AGENT

DOC = {"type": "FeatureCollection", "features": []}


def test_429_then_success_honours_retry_after(make_session):
    answers = iter([httpx.Response(429, headers={"Retry-After": "7"}, text="slow down"),
                    json_response(DOC)])
    session, rec, sleeps = make_session("dmi_metobs", lambda r: next(answers))
    doc = session.fetch_json("https://opendataapi.dmi.dk/v2/metObs/x", {"a": 1})
    assert doc == DOC
    assert sleeps == [7.0]
    assert len(rec.requests) == 2
    assert rec.requests[0].headers["User-Agent"] == USER_AGENT


def test_500_three_times_is_one_clear_error(make_session):
    session, rec, sleeps = make_session("dmi_metobs",
                                        lambda r: httpx.Response(500, text="Internal error"))
    with pytest.raises(SourceError) as err:
        session.fetch_json("https://opendataapi.dmi.dk/v2/metObs/x", {"stationId": "06030"})
    text = str(err.value)
    assert "source 'dmi_metobs'" in text and "HTTP 500" in text and "after 3 attempts" in text
    assert "stationId=06030" in text and "what to do" in text
    assert len(rec.requests) == 3
    assert sleeps == [1.0, 2.0]          # exponential backoff without Retry-After


def test_404_is_not_retried(make_session):
    session, rec, _ = make_session("dmi_metobs", lambda r: httpx.Response(404))
    with pytest.raises(SourceError, match="HTTP 404"):
        session.fetch("https://opendataapi.dmi.dk/v2/metObs/nothing")
    assert len(rec.requests) == 1


def test_repeat_fetch_is_served_from_cache_with_provenance(make_session, tmp_path):
    session, rec, _ = make_session("dhm_terrain", lambda r: httpx.Response(200, content=b"abc"))
    url = "https://api.dataforsyningen.dk/dhm_wcs_DAF"
    first = session.fetch(url, {"BBOX": "1,2,3,4"}, secret_params={"token": "S3CRET"})
    second = session.fetch(url, {"BBOX": "1,2,3,4"}, secret_params={"token": "S3CRET"})
    assert not first.from_cache and second.from_cache
    assert len(rec.requests) == 1
    assert rec.requests[0].url.params["token"] == "S3CRET"       # sent ...
    prov = second.provenance
    assert prov.url == url and prov.params == {"BBOX": "1,2,3,4"}
    assert prov.checksum == hashlib.sha256(b"abc").hexdigest()
    assert prov.licence == session.entry.licence and prov.fetched_at
    stored = b"".join(p.read_bytes() for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert b"S3CRET" not in stored                               # ... never stored


def test_offline_mode_names_the_missing_item(make_session, tmp_path):
    session, _, _ = make_session("dmi_metobs", lambda r: json_response(DOC))
    session.fetch_json("https://opendataapi.dmi.dk/v2/metObs/a", {"datetime": "x/y"})
    offline, rec, _ = make_session("dmi_metobs", lambda r: json_response(DOC), offline=True,
                                   cache_dir=tmp_path / "cache")
    assert offline.fetch_json("https://opendataapi.dmi.dk/v2/metObs/a", {"datetime": "x/y"}) \
        == DOC
    with pytest.raises(OfflineMissError) as err:
        offline.fetch_json("https://opendataapi.dmi.dk/v2/metObs/a", {"datetime": "x/z"})
    assert "GET https://opendataapi.dmi.dk/v2/metObs/a?datetime=x/z" in str(err.value)
    assert rec.requests == []


def test_truncated_json_is_an_error_and_not_cached(make_session):
    body = json.dumps({"type": "FeatureCollection", "features": [{"a": 1}]}).encode()[:-9]
    session, rec, _ = make_session("dmi_metobs", lambda r: httpx.Response(200, content=body))
    for _ in range(2):
        with pytest.raises(SourceError, match="not complete JSON"):
            session.fetch_json("https://opendataapi.dmi.dk/v2/metObs/a")
    assert len(rec.requests) == 2          # the broken answer was not served from the cache


def test_missing_credential_names_the_variable(make_session, monkeypatch):
    monkeypatch.delenv("DATAFORSYNINGEN_TOKEN", raising=False)
    session, _, _ = make_session("dhm_terrain", lambda r: httpx.Response(200))
    with pytest.raises(CredentialMissingError, match="DATAFORSYNINGEN_TOKEN"):
        session.credential("DATAFORSYNINGEN_TOKEN", "terrain pixels")


def test_a_damaged_cache_object_is_refetched(make_session, tmp_path):
    session, rec, _ = make_session("dmi_metobs", lambda r: httpx.Response(200, content=b"{}"))
    answer = session.fetch("https://opendataapi.dmi.dk/v2/metObs/a")
    session.cache.object_path(answer.provenance.checksum).write_bytes(b"{broken")
    assert not session.fetch("https://opendataapi.dmi.dk/v2/metObs/a").from_cache
    assert len(rec.requests) == 2


def test_retry_after_as_http_date_and_connection_errors(make_session):
    from email.utils import format_datetime

    import pandas as pd

    when = format_datetime((pd.Timestamp.now(tz="UTC") + pd.Timedelta(seconds=30)).to_pydatetime(),
                           usegmt=True)
    answers = iter(["drop", httpx.Response(503, headers={"Retry-After": when}),
                    json_response(DOC)])

    def handler(request):
        answer = next(answers)
        if answer == "drop":
            raise httpx.ConnectError("connection refused", request=request)
        return answer
    session, _rec, sleeps = make_session("dmi_metobs", handler)
    assert session.fetch_json("https://opendataapi.dmi.dk/v2/metObs/x") == DOC
    assert sleeps[0] == 1.0 and 25 <= sleeps[1] <= 31


def test_prune_drops_unused_records_and_orphan_objects(make_session):
    import os

    session, _, _ = make_session("dmi_metobs", lambda r: httpx.Response(200, content=b"{}"))
    old = session.fetch("https://opendataapi.dmi.dk/v2/metObs/old")
    session.fetch("https://opendataapi.dmi.dk/v2/metObs/new")          # same bytes, same object
    record = next(p for p in (session.cache.root / "requests").glob("*.json")
                  if "/old" in p.read_text())
    os.utime(record, (0, 0))
    assert session.cache.prune(max_age_days=30) == 1
    assert [r.url.rsplit("/", 1)[1] for r in session.cache.records()] == ["new"]
    assert session.cache.object_path(old.provenance.checksum).exists()  # still used by "new"
