"""The demo's alerts through the real stage code: its two subscribers are seeded into the
encrypted store (key file made for the demo only), and a storm's alert, update and
all-clear reach the loopback mail server; a stale run in between stands nothing down."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from alert_fixtures import FakeForecast

from wetindex.alerts.area import delivery_status, open_store, run_area_alerts
from wetindex.config import demo_config
from wetindex.stages.context import AreaContext
from wetindex.stages.inputs import area_inputs
from wetindex.warnings import InputHealth, RunStatus

ISSUE = datetime(2025, 3, 20, 6, 0, tzinfo=UTC)


def uniform_forecast(grid, p: float, issue: datetime, fresh: bool = True) -> FakeForecast:
    leads = np.arange(1, 49)
    prob = np.full((48, grid.ny, grid.nx), p, dtype="float32")
    level = ((prob >= 0.2).astype("uint8") + (prob >= 0.4) + (prob >= 0.7)).astype("uint8")
    t0 = np.datetime64(issue.replace(tzinfo=None), "ns")
    ds = xr.Dataset({"probability": (("lead", "y", "x"), prob),
                     "level": (("lead", "y", "x"), level)},
                    coords={"lead": leads, **grid.coords(), "issue_time": t0,
                            "valid_time": ("lead", t0 + leads.astype("timedelta64[h]"))},
                    attrs={"thresholds": json.dumps({"yellow": 0.2, "orange": 0.4, "red": 0.7}),
                           "area_name": "Demo"})
    ds = ds.rio.write_crs(grid.crs).rio.write_transform(grid.transform)
    status = RunStatus(area_name="Demo", issue_time=issue, generated_at=issue,
                       next_update=issue + timedelta(hours=3),
                       inputs=[InputHealth("sea_level", "fresh" if fresh else "stale", issue)])
    return FakeForecast(ds, [], status)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo-alerts")
    ctx = AreaContext(demo_config(size_m=2000.0, years=0.3, seed=7,
                                           start="2025-01-01T00:00"),
                               Path(__file__).resolve().parents[2], out)
    return ctx, area_inputs(ctx)


def test_demo_storm_alert_update_all_clear_on_the_loopback_relay(demo, monkeypatch):
    monkeypatch.delenv("WETINDEX_SECRET_KEY", raising=False)
    ctx, inputs = demo
    grid = inputs.grid
    times = [ISSUE + timedelta(hours=h) for h in (0, 3, 6, 15)]
    runs = [run_area_alerts(ctx, inputs, uniform_forecast(grid, 0.5, times[0]), now=times[0]),
            run_area_alerts(ctx, inputs, uniform_forecast(grid, 0.8, times[1]), now=times[1]),
            run_area_alerts(ctx, inputs, uniform_forecast(grid, 0.01, times[2], fresh=False),
                            now=times[2]),
            run_area_alerts(ctx, inputs, uniform_forecast(grid, 0.01, times[3]), now=times[3])]
    assert [r.decisions for r in runs] == [2, 2, 0, 2]
    assert set(runs[2].held) == {"demo-1", "demo-2"}
    key = ctx.area_dir / "alerts" / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    mails = [message_from_bytes(p.read_bytes(), policy=policy.default)
             for p in sorted((ctx.area_dir / "alerts" / "mail").glob("*.eml"))]
    dike = [m for m in mails if m["To"] == "formand@nordre-digelag.example"]
    assert [m["Subject"] for m in dike] == [
        "Orange varsel om oversvømmelse: Nordre Digelag",
        "Opdateret varsel, nu rød: Nordre Digelag",
        "Afblæst: oversvømmelsesvarsel for Nordre Digelag"]
    assert "digevagten" in dike[0].get_body(("plain",)).get_content()  # a dike association's
    owner = [m for m in mails if m["To"] == "owner@klitrosen.example"]
    assert len(owner) == 3 and "Move valuables" in owner[0].get_body(("plain",)).get_content()
    assert all(m["List-Unsubscribe"].startswith("<http://localhost:8000/api/unsubscribe/")
               for m in mails)
    assert delivery_status(ctx)["accepted"] == 6
    assert {s.id for s in open_store(ctx).list()} == {"demo-1", "demo-2"}
