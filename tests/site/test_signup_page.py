"""The "Get alerts" page: built with the site in both languages, nothing from another host,
and — in headless Chromium against `wetindex serve --site` (uvicorn, site at /, API at
/api/) — a person picks a place, signs up, confirms from the received e-mail, gets the
alert, unsubscribes from the alert's link and gets nothing more."""

from __future__ import annotations

import re
import sys
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from site_inputs import synthetic_inputs

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "alerts"))
from alert_fixtures import (
    AREA,
    GRID,
    ISSUE,
    FakeForecast,
    FakeInputs,
    make_forecast,
    make_warning,
)

from wetindex.alerts.area import open_store, run_area_alerts
from wetindex.alerts.crypto import generate_key
from wetindex.alerts.mailsink import MailSink, free_port
from wetindex.alerts.serve import build_app
from wetindex.alerts.signup_page import write_places
from wetindex.config import parse_config
from wetindex.site import build_site
from wetindex.site.check import check_site
from wetindex.stages.context import AreaContext
from wetindex.warnings import InputHealth, RunStatus

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync"]


@dataclass
class Place:
    name: str
    kind: str
    geometry: object


def _forecast(p: float, issue: datetime) -> FakeForecast:
    status = RunStatus(area_name="Testkommune", issue_time=issue, generated_at=issue,
                       next_update=issue + timedelta(hours=3),
                       inputs=[InputHealth("rain", "fresh", issue, "")])
    return FakeForecast(make_forecast(p, issue_time=issue), [make_warning()], status)


def build_release(folder: Path) -> Path:
    build_site(folder, **synthetic_inputs(now=datetime.now(UTC).replace(
        minute=0, second=0, microsecond=0)))
    write_places(folder, "testkommune", [Place("Klitvej", "settlement", AREA)], GRID.crs,
                 AREA.buffer(200))
    return folder


def test_signup_pages_are_built_in_both_languages_and_load_nothing_from_elsewhere(
        tmp_path, web_dir):
    site = build_release(tmp_path / "site")
    da, en = (site / "signup.html").read_text(), (site / "en" / "signup.html").read_text()
    assert '<html lang="da">' in da and "Få varsler" in da and 'href="en/signup.html"' in da
    assert '<html lang="en">' in en and "Get alerts" in en and 'href="../signup.html"' in en
    assert 'data-api="api/"' in da and 'data-api="../api/"' in en  # same origin
    for page in (da, en):
        for field in ("place", "lat", "lon", "radius", "name", "email"):
            assert f'<label for="{field}">' in page  # every field has a label
    check_site(site)  # no http(s):// or // reference that loads anything


@pytest.mark.browser
def test_sign_up_in_chromium_confirm_alert_unsubscribe(tmp_path, monkeypatch, web_dir):
    if not CHROMIUM.exists():
        pytest.skip("Chromium not installed at /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    monkeypatch.setenv("WETINDEX_SECRET_KEY", generate_key())
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    with ExitStack() as stack:
        sink = stack.enter_context(MailSink(tmp_path / "mails"))
        config = parse_config({
            "name": "testkommune", "title": "Testkommune", "source": "local",
            "grid": {"x_min": GRID.x_min, "y_max": GRID.y_max, "nx": GRID.nx, "ny": GRID.ny},
            "inputs": {"terrain": "t.tif", "rain": "r.csv", "sea_level": "s.csv",
                       "boundary": "b.geojson"},
            "site": {"url": base},
            "alerts": {"smtp": {"host": "127.0.0.1", "port": sink.port, "security": "none"}}})
        ctx = AreaContext(config, tmp_path)
        build_release(ctx.area_dir / "site" / "current")
        app = build_app(ctx, stack, with_site=True, now=lambda: ISSUE)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        stack.callback(setattr, server, "should_exit", True)
        elsewhere: list[str] = []
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = browser.new_page()

            def route(r):
                if r.request.url.startswith(base):
                    r.continue_()
                else:
                    elsewhere.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.goto(base + "en/signup.html")
            # (the page's CSP forbids eval, so no wait_for_function: selectors only)
            page.wait_for_selector("#place option:nth-child(2)", state="attached")
            page.select_option("#place", label="Klitvej")
            page.fill("#name", "Klitvej 12")
            page.check("#level-orange")
            page.fill("#email", "beboer@klitten.example")
            page.click("button[type=submit]")
            page.wait_for_selector("#signup-result:has-text('Check your e-mail')")
            for _ in range(100):
                if sink.files():
                    break
                time.sleep(0.05)
            (confirm_mail,) = sink.messages()
            link = re.search(r"(http://\S+/api/confirm/\S+)", confirm_mail.get_content())[1]
            page.goto(link)
            page.click("button")
            page.wait_for_load_state()
            assert "warnings" in page.content()
            # the run mails the alert; its unsubscribe link works in the browser
            assert run_area_alerts(ctx, FakeInputs(), _forecast(0.55, ISSUE),
                                   now=ISSUE).decisions == 1
            alert = sink.messages()[-1]
            assert alert["Subject"].startswith("Orange flood warning: Klitvej 12")
            unsubscribe = alert["List-Unsubscribe"].strip("<>")
            page.goto(unsubscribe)
            page.click("button")
            page.wait_for_load_state()
            assert "Unsubscribed" in page.content()
            browser.close()
        later = ISSUE + timedelta(hours=3)
        assert run_area_alerts(ctx, FakeInputs(), _forecast(0.8, later), now=later).decisions == 0
        assert len(sink.files()) == 2 and open_store(ctx).list() == []
    assert elsewhere == []
