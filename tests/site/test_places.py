"""Place pages, charts, search index, base map and the plain public pages (no browser)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
from site_inputs import rich_inputs, synthetic_inputs

from wetindex.grid import AreaGrid
from wetindex.site import build_site, check_site
from wetindex.site.chart import Axis, level_chart
from wetindex.site.places import SitePlace, place_series

INTERNAL = ("groundwater_anomaly", "best_baseline", "nowcast", "climatology_month",
            "secret_method", "feed_state")


@pytest.fixture(scope="module")
def rich_site(tmp_path_factory, web_dir: Path) -> Path:
    folder = tmp_path_factory.mktemp("rich")
    out = build_site(folder / "site", **rich_inputs(folder / "in"))
    check_site(out)
    return out


def _pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_every_page_links_the_feed_in_head_and_footer_and_has_a_favicon(rich_site: Path):
    pages = _pages(rich_site)
    assert len(pages) == 2 * (4 + 1 + 2)  # 4 pages, sign-up, 2 place pages, two languages
    for page in pages:
        html = page.read_text(encoding="utf-8")
        head, body = html.split("</head>", 1)
        m = re.search(r'<link rel="alternate" type="application/atom\+xml"[^>]*href="([^"]+)"',
                      head)
        assert m, f"{page}: no Atom link in <head>"
        assert (page.parent / m.group(1)).resolve() == (rich_site / "feed/atom.xml").resolve()
        footer = body.split('<footer', 1)[1]
        assert m.group(1) in footer and "https://www.dmi.dk/varsler/" in footer
        assert "mailto:beredskab@test.invalid" in footer
        icon = re.search(r'<link rel="icon" href="([^"]+)"', head).group(1)
        assert (page.parent / icon).is_file()


def test_feed_is_published_without_its_state_and_gis_files_apart(rich_site: Path):
    assert (rich_site / "feed/atom.xml").is_file() and (rich_site / "feed/cap/a.xml").is_file()
    assert not (rich_site / "feed/feed_state.json").exists()
    about = (rich_site / "en/about.html").read_text(encoding="utf-8")
    citizens = about.split('id="downloads-heading"')[1].split('id="gis-heading"')[0]
    gis = about.split('id="gis-heading"')[1]
    assert "feed/atom.xml" in citizens and "warnings.geojson" in citizens
    assert ".tif" not in citizens and "probability_lead_01.tif" in gis
    assert ".nc" not in about


def test_no_internal_names_on_any_page(rich_site: Path):
    for page in _pages(rich_site):
        text = page.read_text(encoding="utf-8")
        for key in INTERNAL:
            assert key not in text, f"{page.relative_to(rich_site)} shows {key!r}"
    status = (rich_site / "en/status.html").read_text(encoding="utf-8")
    assert "Groundwater" in status
    about = (rich_site / "en/about.html").read_text(encoding="utf-8")
    assert "Best simple method" in about


def test_warning_polygons_are_a_file_not_inline(rich_site: Path):
    index = (rich_site / "index.html").read_text(encoding="utf-8")
    data = json.loads((rich_site / "static/layers/warnings_da.geojson").read_text())
    lon, lat = data["features"][0]["geometry"]["coordinates"][0][0]
    assert str(lon) not in index and str(lat) not in index
    assert index.count('"Polygon"') == 1  # only the area outline stays inline
    assert len(data["features"]) == 1
    assert data["features"][0]["properties"]["style"]["color"]
    assert "Orange" in data["features"][0]["properties"]["label"]


def test_place_page_has_chart_markers_drivers_and_table(rich_site: Path):
    page = (rich_site / "en/places/polderen-bag-diget.html").read_text(encoding="utf-8")
    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert len(svgs) == 2
    for svg in svgs:
        ElementTree.fromstring(svg)  # well-formed XML
    level_svg, driver_svg = svgs
    # where the warning's level begins (its onset), the peak and the end are marked
    assert re.search(r"Orange from \d\d:\d\d", level_svg)
    assert "Peak" in level_svg and "End" in level_svg
    # the curve is the warning score the level is decided on, against its thresholds
    assert "Orange from 40%" in level_svg and 'class="score"' in level_svg
    assert "Flood risk" in level_svg  # the y axis says what it shows
    assert 'class="rain"' in driver_svg and 'class="crest"' in driver_svg
    assert "Dike crest 2.55 m" in driver_svg and "High water" in driver_svg
    # the drivers in words: high water 2.4 m at lead 20, 0.15 m under the crest
    assert "Highest sea level: 2.40 m above DVR90" in page
    assert "lowest crest is 2.55 m, 0.15 m higher" in page
    assert "Rain in total over the next 48 hours: 29 mm." in page
    rows = re.findall(r'<tr id="h-(\d+)"', page)
    assert rows == [str(i) for i in range(1, 49)]
    assert "Orange from" in page and "Danish time" in page and "What to do" in page
    # the other place has no warning, and says so
    hills = (rich_site / "en/places/bakkerne-oest.html").read_text(encoding="utf-8")
    assert "No warning for this place" in hills


def test_search_index_ties_addresses_to_their_place(rich_site: Path):
    index = json.loads((rich_site / "search-index.json").read_text(encoding="utf-8"))
    by_label = {a[0]: index["places"][a[1]]["s"] for a in index["addresses"]}
    assert by_label["Digevej 1, 9990 Vesterby"] == "polderen-bag-diget"
    assert by_label["Bakkevej 5, 9990 Vesterby"] == "bakkerne-oest"
    assert {p["s"] for p in index["places"]} == {"polderen-bag-diget", "bakkerne-oest"}


def test_basemap_layers_are_written_clipped_and_tiled(rich_site: Path):
    manifest = json.loads((rich_site / "site-manifest.json").read_text())
    assert set(manifest["basemap"]) == {"roads", "buildings"}
    roads = json.loads((rich_site / manifest["basemap"]["roads"]).read_text())
    assert {f["properties"].get("name") for f in roads["features"]} == {"Digevej", "Marskvej"}
    lons = [c[0] for f in roads["features"] for c in f["geometry"]["coordinates"]]
    assert all(8 < lon < 10 for lon in lons)  # lon/lat, not metres
    tiles = json.loads((rich_site / manifest["basemap"]["buildings"]).read_text())["tiles"]
    n = sum(len(json.loads((rich_site / "static/basemap/buildings" / t["u"]).read_text())
                ["features"]) for t in tiles)
    assert n == 4


def test_place_probability_needs_a_hectare(web_dir: Path):
    """One hot cell does not make a place's curve high; a hectare of it does."""
    import xarray as xr
    from shapely.geometry import box

    grid = AreaGrid("EPSG:25832", 10.0, 540_000.0, 6_330_000.0, 30, 30)
    prob = np.zeros((2, 30, 30), dtype="float32")
    prob[0, 5, 5] = 0.9  # one cell
    prob[1, 0:10, 0:10] = 0.5  # exactly 1 ha
    level = (prob >= 0.4).astype("uint8") * 2
    fc = xr.Dataset({"probability": (("lead", "y", "x"), prob),
                     "level": (("lead", "y", "x"), level)},
                    coords={"lead": [1, 2], **grid.coords()})
    place = SitePlace("P", "x", box(*grid.bounds))
    (s,) = place_series([place], grid, fc, [])
    assert s.score[0] == 0.0 and s.score[1] == pytest.approx(0.5)
    assert s.levels == [0, 2]


def test_level_chart_draws_gaps_for_missing_hours():
    axis = Axis(["00", "", "", "06"], "time")
    svg = level_chart("c", axis, [0.1, float("nan"), 0.3, 0.4], [0, 0, 1, 1],
                      {"yellow": (0.2, "Yellow 20%")}, [(2, "Start")], title="T", desc="D",
                      percent=lambda p: f"{p:.0%}")
    root = ElementTree.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert len(root.findall(f"{ns}polyline")) == 2  # the NaN hour splits the curve
    assert root.find(f"{ns}title").text == "T"


def test_site_without_extras_still_builds_a_page_per_warning(tmp_path: Path, web_dir: Path):
    out = build_site(tmp_path / "s", **synthetic_inputs())
    check_site(out)
    assert (out / "places/sommerhusomraadet-ved-klitten.html").is_file()
    assert (out / "places/testkommune.html").is_file()
    warnings = (out / "warnings.html").read_text(encoding="utf-8")
    assert 'href="places/sommerhusomraadet-ved-klitten.html"' in warnings


def test_signup_page_is_built_and_linked_from_every_page_and_place(tmp_path: Path):
    """The sign-up page exists in both languages and every page and place links to it."""
    out = build_site(tmp_path / "with", **synthetic_inputs())
    assert (out / "signup.html").exists() and (out / "en" / "signup.html").exists()
    index = (out / "en/index.html").read_text(encoding="utf-8")
    assert 'href="signup.html"' in index  # menu and footer
    place = (out / "en/places/sommerhusomraadet-ved-klitten.html").read_text(encoding="utf-8")
    assert 'href="../signup.html?place=sommerhusomraadet-ved-klitten"' in place
