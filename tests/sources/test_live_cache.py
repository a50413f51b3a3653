"""Time-addressed requests and streamed downloads (mock transport, no network)."""

from __future__ import annotations

import httpx
import pandas as pd
import pytest
from sources_helpers import json_response

from wetindex.sources.errors import OfflineMissError, SourceError
from wetindex.sources.live_fetch import as_of, fill_gaps, time_windows


def test_windows_are_aligned_closed_ones_fixed_and_the_tail_open():
    now = pd.Timestamp("2026-01-10T06:00")
    first = time_windows(now - pd.Timedelta(days=20), now)
    later = time_windows(now - pd.Timedelta(days=20) + pd.Timedelta(hours=3),
                         now + pd.Timedelta(hours=3))
    assert all(closed for *_, closed in first[:-1]) and not first[-1][2]
    assert first[-1][1] == now and later[-1][1] == now + pd.Timedelta(hours=3)
    # every closed window of the first run is asked again with the very same bounds
    assert {(s, e) for s, e, c in first if c} <= {(s, e) for s, e, _ in later}
    assert all((e - s) == pd.Timedelta(days=7) for s, e, c in first if c)


def test_open_tail_and_latest_listing_are_refetched_and_replayed_by_time(make_session):
    calls = []

    def handler(request):
        calls.append(str(request.url))
        return json_response({"instances": [{"id": f"run-{len(calls)}"}]})

    session, _, _ = make_session("dmi_forecast_edr", handler)
    url = session.entry.url("collections/dkss_nsbs/instances")
    with as_of(session, pd.Timestamp("2026-01-10T06:00")):
        a = session.fetch_json(url, {"f": "json"})
    with as_of(session, pd.Timestamp("2026-01-10T09:00")):
        b = session.fetch_json(url, {"f": "json"})
    assert a != b and len(calls) == 2
    session.cache.offline = True
    with as_of(session, pd.Timestamp("2026-01-10T06:00")):
        assert session.fetch_json(url, {"f": "json"}) == a   # replay: the 06:00 answer
    with as_of(session, pd.Timestamp("2026-01-10T12:00")), pytest.raises(OfflineMissError):
        session.fetch_json(url, {"f": "json"})


def test_a_large_download_is_streamed_to_the_cache_and_checked(make_session, tmp_path):
    body = b"CDF\x01" + bytes(3_000_000)
    session, rec, _ = make_session("hip_groundwater", lambda r: httpx.Response(200, content=body))
    path = session.download("https://example.org/hip.nc")
    assert path.read_bytes() == body and session.answers[-1].content == b""
    assert session.download("https://example.org/hip.nc") == path and len(rec.requests) == 1

    def check(head, request):
        if not head.startswith(b"CDF"):
            raise SourceError("hip_groundwater", request, "not NetCDF", "check the URL")

    bad, _, _ = make_session("hip_groundwater", lambda r: httpx.Response(200, content=b"<html>"),
                             cache_dir=tmp_path / "bad")
    with pytest.raises(SourceError, match="not NetCDF"):
        bad.download("https://example.org/x.nc", check_head=check)
    assert not list((tmp_path / "bad" / "objects").rglob("*"))   # nothing kept


def test_fill_gaps_fills_short_inner_gaps_only():
    s = pd.Series([1.0, None, 3.0, None, None, None, None, 8.0, None],
                  index=pd.date_range("2026-01-01", periods=9, freq="1h"))
    out, n = fill_gaps(s, 3)
    assert n == 1 and out.iloc[1] == 2.0
    assert out.iloc[3:7].isna().all() and pd.isna(out.iloc[8])
