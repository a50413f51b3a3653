"""The citizen site in a real browser (Debian's Chromium through Playwright).

The site is built from a small synthetic forecast, served on 127.0.0.1, and every
request to any other host is aborted and recorded: a page that needs the internet
fails here. Screenshots go to ``test-artifacts/screenshots/``; axe results and page
weights to ``test-artifacts/``.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from site_inputs import REPO, rich_inputs, synthetic_inputs

from wetindex.site import build_site
from wetindex.site.check import PAGES

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync"]
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
ARTIFACTS = REPO / "test-artifacts"
SHOTS = ARTIFACTS / "screenshots"
LANG_PREFIX = {"da": "", "en": "en/"}


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def _serve(folder: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _now_hour() -> datetime:
    # Issue "now", so the page's own out-of-date check stays quiet.
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory: pytest.TempPathFactory, web_dir: Path) -> Path:
    folder = tmp_path_factory.mktemp("site")
    # places, drivers, base map, addresses, feed and contact, as a real publish gives
    return build_site(folder / "site", **rich_inputs(folder / "in", now=_now_hour()))


@pytest.fixture(scope="module")
def site_url(site_dir: Path) -> Iterator[str]:
    yield from _serve(site_dir)


def _all_pages(site: Path) -> list[str]:
    """Every HTML page of a build, release-relative (fixed pages and place pages)."""
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))


@pytest.fixture(scope="module")
def missing_site_url(tmp_path_factory: pytest.TempPathFactory, web_dir: Path) -> Iterator[str]:
    out = tmp_path_factory.mktemp("site_missing")
    build_site(out, **synthetic_inputs(state="missing", with_warning=False, now=_now_hour()))
    yield from _serve(out)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Chromium not installed at /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


class Visit:
    """A page with every non-local request blocked and recorded, and console errors kept."""

    def __init__(self, browser, base: str, viewport: str = "phone"):
        self.base = base
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.bytes: dict[str, int] = {}
        self.context = browser.new_context(viewport=VIEWPORTS[viewport],
                                           locale="da-DK", timezone_id="Europe/Copenhagen")
        self.page = self.context.new_page()
        self.page.route("**/*", self._route)
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", self._failed)
        self.page.on("response", self._count)

    def _failed(self, request) -> None:
        # Fetches made after "load" (favicon, base map, warnings) are dropped by the
        # browser when the test moves on to the next page at once (net::ERR_ABORTED):
        # not a broken site. A missing file is an HTTP error status (see _count).
        if not request.url.startswith(self.base) or "ABORTED" in (request.failure or ""):
            return
        self.errors.append(f"failed {request.url}: {request.failure}")

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(self.base) or url.startswith("data:"):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def _count(self, response) -> None:
        if response.url.startswith(self.base) and response.status >= 400:
            self.errors.append(f"HTTP {response.status} {response.url}")
        try:
            self.bytes[response.url] = len(response.body())
        except Exception:  # redirects and aborted requests have no body
            pass

    def open(self, rel: str, *, settle: bool = False) -> None:
        self.page.goto(self.base + rel, wait_until="load")
        if settle:  # every response in and counted (needed where bytes are counted)
            self.page.wait_for_load_state("networkidle")

    def close(self) -> None:
        self.context.close()


def _serious(violations: list[dict]) -> list[str]:
    return [f"{v['id']} ({v['impact']}): {v['help']} – {[n['target'] for n in v['nodes']][:3]}"
            for v in violations if v.get("impact") in ("serious", "critical")]


def test_every_page_offline_accessible_and_photographed(browser, site_url: str,
                                                        site_dir: Path) -> None:
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    SHOTS.mkdir(parents=True, exist_ok=True)
    report: dict[str, list] = {}
    problems: list[str] = []
    pages = _all_pages(site_dir)
    assert len(pages) == 2 * (len(PAGES) + 1 + 2)  # the pages, sign-up, 2 places
    for size in VIEWPORTS:
        visit = Visit(browser, site_url, size)
        for rel in pages:
            lang = "en" if rel.startswith("en/") else "da"
            visit.open(rel, settle=True)
            assert visit.page.locator("html").get_attribute("lang") == lang
            name = rel.removeprefix("en/").removesuffix(".html").replace("/", "_")
            visit.page.screenshot(path=str(SHOTS / f"{lang}_{name}_{size}.png"),
                                  full_page=True)
            # axe on both sizes: the phone layout (cards) and the desktop one (tables)
            violations = axe.run(visit.page).response["violations"]
            report[f"{rel} ({size})"] = [
                {"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"])}
                for v in violations]
            problems += [f"{rel} ({size}): {v['id']} ({v['impact']}): {v['help']} – "
                         f"{[n['target'] for n in v['nodes']][:3]}" for v in violations]
        assert visit.blocked == [], f"requests to other hosts: {visit.blocked}"
        assert visit.errors == [], f"console errors: {visit.errors}"
        visit.close()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "axe.json").write_text(json.dumps(report, indent=2))
    assert problems == [], "\n".join(problems)


def test_time_control_steps_the_map_hour_by_hour(browser, site_url: str) -> None:
    visit = Visit(browser, site_url, "desktop")
    page = visit.page
    visit.open("index.html", settle=True)
    overlay = page.locator("img.wx-risk-hourly")
    shown = page.locator("#time-local")
    assert overlay.get_attribute("src").endswith("risk_lead_01.png")
    first_time = shown.inner_text()
    hour_images = [u for u in visit.bytes if "/risk_lead_" in u]
    assert len(hour_images) == 1, f"only the shown hour loads at first, got {hour_images}"

    page.click("#time-next")
    page.wait_for_function(
        "document.querySelector('img.wx-risk-hourly').src.endsWith('risk_lead_02.png')")
    assert shown.inner_text() != first_time

    page.focus("#time-range")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "document.querySelector('img.wx-risk-hourly').src.endsWith('risk_lead_03.png')")
    page.keyboard.press("End")
    page.wait_for_function(
        "document.querySelector('img.wx-risk-hourly').src.endsWith('risk_lead_48.png')")
    assert page.locator("#time-next").get_attribute("aria-disabled") == "true"
    assert "48" in page.locator("#time-range").get_attribute("aria-valuetext")

    # The buttons work from the keyboard too.
    page.focus("#time-prev")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "document.querySelector('img.wx-risk-hourly').src.endsWith('risk_lead_47.png')")
    # The swapped-in image really loads (an existing file, decoded by the browser).
    page.wait_for_function("() => { const i = document.querySelector('img.wx-risk-hourly');"
                           " return i.complete && i.naturalWidth > 0; }")
    assert visit.blocked == [] and visit.errors == []
    visit.close()


def test_language_switch_goes_both_ways(browser, site_url: str) -> None:
    visit = Visit(browser, site_url)
    page = visit.page
    for page_name in PAGES:
        visit.open(page_name)
        page.click("a.lang-switch")
        page.wait_for_load_state("load")
        assert page.url.endswith(f"/en/{page_name}")
        assert page.locator("html").get_attribute("lang") == "en"
        page.click("a.lang-switch")
        page.wait_for_load_state("load")
        assert page.url == site_url + page_name
        assert page.locator("html").get_attribute("lang") == "da"
    assert visit.blocked == [] and visit.errors == []
    visit.close()


def test_map_page_weight(browser, site_url: str) -> None:
    visit = Visit(browser, site_url, "phone")
    visit.open("index.html", settle=True)
    total = sum(visit.bytes.values())
    loaded = [u.removeprefix(site_url) for u in visit.bytes]
    assert "static/layers/hillshade.png" in loaded and "static/layers/risk_lead_01.png" in loaded
    assert not [u for u in loaded if "risk_lead_02" in u or "risk_max" in u]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "page-weight.json").write_text(json.dumps(
        {"total_bytes": total, "files": {u.removeprefix(site_url): n
                                         for u, n in sorted(visit.bytes.items())}}, indent=2))
    assert total < 350 * 1024
    visit.close()


def test_missing_forecast_shows_no_forecast_not_safety(browser, missing_site_url: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    visit = Visit(browser, missing_site_url, "phone")
    for prefix in LANG_PREFIX.values():
        for page_name in PAGES:
            visit.open(prefix + page_name)
            assert visit.page.locator(".banner-missing").first.is_visible()
        visit.open(prefix + "index.html")
        assert visit.page.locator(".map-nodata").is_visible()
        assert visit.page.locator("img.wx-risk-hourly").count() == 0
        assert _serious(Axe().run(visit.page).response["violations"]) == []
    visit.page.screenshot(path=str(SHOTS / "en_index_missing_phone.png"), full_page=True)
    assert visit.blocked == [] and visit.errors == []
    visit.close()


def test_out_of_date_forecast_is_flagged_by_the_page_itself(browser, tmp_path: Path,
                                                            web_dir: Path) -> None:
    # Issued a day ago, so the "next update" (issue + 6 h) is long overdue.
    out = build_site(tmp_path / "old", **synthetic_inputs(now=_now_hour() - timedelta(days=1)))
    for base in _serve(out):
        visit = Visit(browser, base)
        visit.open("index.html")
        assert visit.page.locator("#stale-banner").is_visible()
        visit.open("en/warnings.html")
        assert visit.page.locator("#stale-banner").is_visible()
        assert visit.blocked == [] and visit.errors == []
        visit.close()


def _tab_to(page, selector: str, limit: int = 40) -> None:
    """Press Tab until ``selector`` has the focus (keyboard only, as a reader would)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement === document.querySelector(s)", selector):
            return
    raise AssertionError(f"{selector} never got the focus with Tab")


def test_search_finds_an_address_and_opens_its_place_by_keyboard(browser, site_url: str) -> None:
    from playwright.sync_api import expect

    visit = Visit(browser, site_url, "phone")
    page = visit.page
    visit.open("en/index.html", settle=True)
    index_requests = [u for u in visit.bytes if u.endswith("search-index.json")]
    assert index_requests == [], "the index loads only when the search is used"
    _tab_to(page, "#search-input")
    page.keyboard.type("digevej 1")
    page.wait_for_selector("#search-results a")
    results = page.locator("#search-results a").all_inner_texts()
    assert results and results[0].startswith("Digevej 1, 9990 Vesterby")
    assert "found" in page.locator("#search-status").inner_text()
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.textContent").startswith("Digevej 1")
    page.keyboard.press("Enter")
    page.wait_for_url("**/en/places/polderen-bag-diget.html#a=*")
    page.wait_for_load_state("networkidle")
    # the place page: the address, the chart with onset and peak, the map with a marker
    assert "Digevej 1" in page.locator("#address-line").inner_text()
    chart = page.locator("#chart-level")
    assert chart.is_visible()
    labels = " ".join(chart.locator("text.marker-label").all_text_contents())
    assert " from " in labels and "Peak" in labels  # the level's onset and the peak
    assert page.locator("#chart-drivers .crest").count() == 1
    assert page.locator("#place-map .leaflet-marker-icon").count() == 1
    assert page.locator("#place-map .leaflet-overlay-pane path, #place-map svg path").count() > 0
    # a place name finds the place too
    visit.open("index.html", settle=True)
    page.fill("#search-input", "bakkerne")
    page.wait_for_selector("#search-results a")
    assert page.locator("#search-results a").first.get_attribute("href") == \
        "places/bakkerne-oest.html"
    page.fill("#search-input", "xyzzy")
    expect(page.locator("#search-status")).to_have_text("Ingen adresser eller steder passer.")
    expect(page.locator("#search-results a")).to_have_count(0)
    # printed, the page keeps the text and drops the controls
    page.emulate_media(media="print")
    assert not page.locator("#search-input").is_visible()
    assert page.locator(".headline").is_visible()
    page.emulate_media(media="screen")
    assert visit.blocked == [] and visit.errors == []
    visit.close()


def test_place_page_and_hour_control_by_keyboard_with_permalinks(browser, site_url: str) -> None:
    visit = Visit(browser, site_url, "desktop")
    page = visit.page
    visit.open("places/polderen-bag-diget.html", settle=True)
    _tab_to(page, "a.hour-anchor[href='#h-20']", limit=120)
    page.keyboard.press("Enter")
    page.wait_for_url("**#h-20")
    assert page.evaluate("document.querySelector(':target').id") == "h-20"
    # a permalink to an hour of the map opens that hour
    visit.open("en/index.html#t=12", settle=True)
    assert page.locator("#time-range").input_value() == "11"
    assert page.locator("img.wx-risk-hourly").get_attribute("src").endswith("risk_lead_12.png")
    _tab_to(page, "#time-next")
    page.keyboard.press("Enter")
    page.wait_for_url("**#t=13")
    assert page.locator("#hour-link").get_attribute("href") == "#t=13"
    _tab_to(page, "#time-range")
    page.keyboard.press("ArrowRight")
    page.wait_for_url("**#t=14")
    assert visit.blocked == [] and visit.errors == []
    visit.close()


#: Lighthouse's "slow 4G" profile: 150 ms round trip, 1.6 Mbit/s down, 750 kbit/s up,
#: and a phone CPU 4 × slower than this machine's.
SLOW_4G = {"offline": False, "latency": 150, "downloadThroughput": 1.6e6 / 8,
           "uploadThroughput": 750e3 / 8}
CPU_SLOWDOWN = 4
LCP_BUDGET_MS = 2500
FIRST_LOAD_BUDGET = 350 * 1024

_LCP_JS = """() => new Promise(resolve => {
  let last = 0;
  new PerformanceObserver(list => {
    for (const e of list.getEntries()) { last = e.renderTime || e.loadTime || e.startTime; }
  }).observe({type: 'largest-contentful-paint', buffered: true});
  setTimeout(() => resolve(last), 300);
})"""


def _throttled_load(browser, url: str) -> tuple[float, int, list[str]]:
    """Largest contentful paint [ms] and bytes of a first load on the slow-4G phone."""
    context = browser.new_context(viewport=VIEWPORTS["phone"], device_scale_factor=2,
                                  is_mobile=True, has_touch=True, locale="da-DK",
                                  timezone_id="Europe/Copenhagen")
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", SLOW_4G)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    received: dict[str, int] = {}
    urls: dict[str, str] = {}
    # Bytes on the wire, headers included (CDP's encodedDataLength), per request.
    cdp.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"],
                                                                    e["request"]["url"]))
    cdp.on("Network.loadingFinished", lambda e: received.__setitem__(
        e["requestId"], int(e["encodedDataLength"])))
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    lcp = float(page.evaluate(_LCP_JS))
    context.close()
    return lcp, sum(received.values()), sorted(set(urls.values()))


def test_performance_budget_on_a_slow_4g_phone(browser, site_url: str) -> None:
    results = {}
    for rel in ("index.html", "en/index.html", "places/polderen-bag-diget.html"):
        lcp, size, urls = _throttled_load(browser, site_url + rel)
        foreign = [u for u in urls if not u.startswith(site_url) and not u.startswith("data:")]
        assert foreign == [], f"{rel}: requests to other hosts {foreign}"
        results[rel] = {"lcp_ms": round(lcp), "first_load_bytes": size, "requests": len(urls)}
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "performance.json").write_text(json.dumps(
        {"profile": {"network": SLOW_4G, "cpu_slowdown": CPU_SLOWDOWN,
                     "viewport": VIEWPORTS["phone"]}, "pages": results}, indent=2))
    for rel, r in results.items():
        assert r["lcp_ms"] <= LCP_BUDGET_MS, f"{rel}: LCP {r['lcp_ms']} ms > 2.5 s ({results})"
        assert r["first_load_bytes"] < FIRST_LOAD_BUDGET, f"{rel}: {results}"
