"""Pages, texts, warnings and machine-readable outputs of the citizen site."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from site_inputs import synthetic_inputs

from wetindex.site import build_site, check_site
from wetindex.site.check import PAGES
from wetindex.site.i18n import Formatter, TranslationError, flatten_keys, load_translations

ALL_PAGES = [*PAGES, *(f"en/{p}" for p in PAGES)]


def _build(tmp_path_factory: pytest.TempPathFactory, name: str, **overrides) -> Path:
    kw = synthetic_inputs(**{k: overrides.pop(k) for k in ("state", "with_warning")
                             if k in overrides})
    kw.update(overrides)
    out = tmp_path_factory.mktemp(name)
    return build_site(out, **kw)


@pytest.fixture(scope="module")
def site(tmp_path_factory, web_dir) -> Path:
    return _build(tmp_path_factory, "ok")


@pytest.fixture(scope="module")
def missing_site(tmp_path_factory, web_dir) -> Path:
    return _build(tmp_path_factory, "missing", state="missing", with_warning=False)


def _text(path: Path) -> str:
    """Visible-ish text of a page: tags stripped, whitespace collapsed."""
    html = path.read_text(encoding="utf-8")
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html))  # keeps no-break spaces


# --- pages and languages -------------------------------------------------------------

def test_every_page_exists_in_both_languages_with_lang_and_switch(site: Path) -> None:
    for rel in ALL_PAGES:
        html = (site / rel).read_text(encoding="utf-8")
        lang = "en" if rel.startswith("en/") else "da"
        assert f'<html lang="{lang}">' in html, rel
        other = f"../{rel[3:]}" if lang == "en" else f"en/{rel}"
        assert f'class="lang-switch" href="{other}"' in html, rel
        assert 'class="skip-link" href="#main"' in html and 'id="main"' in html, rel
    check_site(site)


def test_translations_have_the_same_keys(web_dir: Path) -> None:
    texts = load_translations(web_dir / "i18n")
    assert flatten_keys(texts["da"]) == flatten_keys(texts["en"])
    assert len(flatten_keys(texts["da"])) > 150


def test_a_missing_translation_is_named(tmp_path: Path, web_dir: Path) -> None:
    shutil.copytree(web_dir / "i18n", tmp_path / "i18n")
    en = yaml.safe_load((tmp_path / "i18n" / "en.yaml").read_text(encoding="utf-8"))
    del en["warnings"]["drivers"]
    (tmp_path / "i18n" / "en.yaml").write_text(yaml.safe_dump(en), encoding="utf-8")
    with pytest.raises(TranslationError, match=r"warnings\.drivers"):
        load_translations(tmp_path / "i18n")


def test_templates_hold_no_text_of_their_own(web_dir: Path) -> None:
    """Every word on the pages comes from the translation files."""
    for template in (web_dir / "templates").glob("*.j2"):
        source = template.read_text(encoding="utf-8")
        source = re.sub(r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}", " ", source, flags=re.S)
        source = re.sub(r"<(script|style)\b.*?</\1>", " ", source, flags=re.S)
        words = re.findall(r"[^\W\d_]{2,}", re.sub(r"<[^>]*>", " ", source))
        assert words == [], f"{template.name}: untranslated text {words}"


def test_missing_forecast_still_shows_warnings_it_was_given(tmp_path: Path, web_dir) -> None:
    site = build_site(tmp_path, **synthetic_inputs(state="missing"))
    assert "Sommerhusområdet ved Klitten" in _text(site / "warnings.html")
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "Sommerhusområdet ved Klitten" in index and 'class="map-nodata"' in index


def test_danish_pages_speak_danish_and_english_pages_english(site: Path) -> None:
    da, en = _text(site / "index.html"), _text(site / "en" / "index.html")
    assert "Forrige time" in da and "Previous hour" not in da
    assert "Previous hour" in en and "Forrige time" not in en
    assert "Vær forberedt" in da and "Be prepared" in en


def test_times_are_local_danish_with_utc_beside() -> None:
    texts = load_translations(Path(__file__).resolve().parents[2] / "web" / "i18n")
    winter = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 7, 13, 30, tzinfo=UTC)
    da, en = Formatter(texts["da"]), Formatter(texts["en"])
    assert da.local(winter) == "tirsdag 24. nov kl. 14"
    assert da.both(winter) == "tirsdag 24. nov kl. 14 (13:00 UTC)"
    assert en.local(winter) == "Tuesday 24 Nov, 14:00"
    assert da.local(summer) == "tirsdag 7. jul kl. 15.30"
    assert da.percent(0.583) == "58\u00a0%" and en.percent(0.583) == "58%"
    assert da.percent(0.001) == "under 1\u00a0%"


# --- the headline and the warnings ---------------------------------------------------

def test_headline_names_the_highest_level_and_the_place_first(site: Path) -> None:
    html = (site / "index.html").read_text(encoding="utf-8")
    main = html[html.index('<main id="main"'):]
    headline = main[: main.index('class="map-section"')]
    assert "Orange" in headline and "Vær forberedt" in headline
    assert "Sommerhusområdet ved Klitten" in headline and "58\u00a0%" in headline


def test_warnings_table_content(site: Path) -> None:
    html = (site / "warnings.html").read_text(encoding="utf-8")
    table = html[html.index("<table"): html.index("</table>")]
    rows = re.findall(r"<tr class=\"warning-row.*?</tr>", table, flags=re.S)
    assert len(rows) == 1
    row = re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", rows[0]))
    # ISSUE is 2026-11-24 12:00 UTC; onset +14 h, expires +27 h.
    for expected in ("Sommerhusområdet ved Klitten", "Orange", "Vær forberedt",
                     "onsdag 25. nov kl. 03 (02:00 UTC)", "onsdag 25. nov kl. 16 (15:00 UTC)",
                     "58\u00a0%", "regn, høj vandstand i havet"):
        assert expected in row, expected
    assert "terræn" not in row  # 15 % is below the main-driver share
    en = _text(site / "en" / "warnings.html")
    assert "rain, high sea level" in en and "Wednesday 25 Nov, 03:00 (02:00 UTC)" in en


def test_no_warnings_says_so_and_that_the_forecast_is_healthy(tmp_path_factory,
                                                               web_dir) -> None:
    site = _build(tmp_path_factory, "quiet", with_warning=False)
    text = _text(site / "warnings.html")
    assert "Der er ingen advarsler de næste 48 timer." in text
    assert "Prognosen er sund" in text
    html = (site / "warnings.html").read_text(encoding="utf-8")
    assert "banner-degraded" not in html and "banner-missing" not in html


def test_degraded_inputs_put_a_banner_naming_them_on_every_page(tmp_path_factory,
                                                                web_dir) -> None:
    site = _build(tmp_path_factory, "degraded", state="degraded", with_warning=False)
    for rel in ALL_PAGES:
        html = (site / rel).read_text(encoding="utf-8")
        assert 'class="banner banner-degraded"' in html, rel
    assert "Regn: Forældet siden" in _text(site / "index.html")
    assert "Rain: Out of date since" in _text(site / "en" / "status.html")
    assert "mere usikker" in _text(site / "warnings.html")
    assert "Prognosen er sund" not in _text(site / "warnings.html")


def test_missing_forecast_banner_on_every_page_and_never_no_risk(missing_site: Path) -> None:
    for rel in ALL_PAGES:
        html = (missing_site / rel).read_text(encoding="utf-8")
        assert 'class="banner banner-missing" role="alert"' in html, rel
    index = (missing_site / "index.html").read_text(encoding="utf-8")
    assert "risk_lead_" not in index and 'id="time-range"' not in index
    assert 'class="map-nodata"' in index
    warnings_text = _text(missing_site / "warnings.html")
    assert "Det betyder ikke, at der ingen risiko er." in warnings_text
    assert "Der er ingen advarsler" not in warnings_text
    assert "Prognosen er sund" not in warnings_text
    assert not list((missing_site / "static" / "layers").glob("risk_*.png"))
    check_site(missing_site)


def test_warnings_geojson_is_lonlat_feature_collection(site: Path) -> None:
    fc = json.loads((site / "warnings.geojson").read_text(encoding="utf-8"))
    assert fc["type"] == "FeatureCollection" and fc["forecast_state"] == "ok"
    assert len(fc["features"]) == 1
    feature = fc["features"][0]
    assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Polygon"
    assert feature["properties"]["level"] == 2
    assert feature["properties"]["level_name"] == "orange"
    assert feature["properties"]["main_drivers"] == ["rain", "sea"]
    ring = feature["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) > 4
    for lon, lat in ring:  # the test grid is near 9.7° E, 57.1° N
        assert 9.5 < lon < 9.9 and 56.9 < lat < 57.3


def test_warning_geometry_not_in_lonlat_is_refused(tmp_path: Path, web_dir) -> None:
    from dataclasses import replace

    kw = synthetic_inputs()
    bad = replace(kw["warnings"][0], geometry={"type": "Polygon", "coordinates": [
        [[540000, 6329000], [540100, 6329000], [540100, 6329100], [540000, 6329000]]]})
    kw["warnings"] = [bad]
    with pytest.raises(ValueError, match="not in lon/lat"):
        build_site(tmp_path, **kw)


def test_bad_forecast_gets_one_clear_error(tmp_path: Path, web_dir) -> None:
    kw = synthetic_inputs()
    kw["forecast"] = kw["forecast"].drop_vars("level")
    with pytest.raises(ValueError, match=r"forecast: variable 'level' missing"):
        build_site(tmp_path, **kw)


# --- map page ------------------------------------------------------------------------

def test_map_page_links_only_the_first_hour_and_lists_all_48(site: Path) -> None:
    html = (site / "index.html").read_text(encoding="utf-8")
    data = re.search(r'<script type="application/json" id="wx-hours">(.*?)</script>', html, re.S)
    hours = json.loads(data.group(1))
    assert [h["lead"] for h in hours] == list(range(1, 49))
    assert all((site / h["url"]).is_file() for h in hours)
    script = html[html.index("L.imageOverlay"):]
    assert re.findall(r"risk_lead_\d+\.png", script) == ["risk_lead_01.png"]
    assert 'url(' not in html.split("<body")[0].lower().replace("url(#", "")
    assert "cdn" not in html.lower()
    en_hours = (site / "en" / "index.html").read_text(encoding="utf-8")
    assert '"url": "../static/layers/risk_lead_01.png"' in en_hours


# --- about page ----------------------------------------------------------------------

def test_scorecard_table_and_attributions(site: Path) -> None:
    html = (site / "about.html").read_text(encoding="utf-8")
    assert "Brier skill score" in html and "Træfsikkerhed (CSI) ved orange" in html
    table = html[html.index("Brier skill score"):]
    table = table[: table.index("</table>")]
    assert "0,41" in table and "Klimatologi" in table and "–" in table  # NaN → dash
    assert "0.41" in (site / "en" / "about.html").read_text(encoding="utf-8")
    assert '<a href="https://www.dmi.dk/" rel="noreferrer external">DMI</a>' in html
    assert "CC BY 4.0" in html


def test_no_scorecard_says_not_evaluated(tmp_path_factory, web_dir) -> None:
    site = _build(tmp_path_factory, "noscore", scorecard=None)
    assert "ikke evalueret endnu" in _text(site / "about.html")
    assert "not been evaluated yet" in _text(site / "en" / "about.html")


def test_downloads_are_copied_and_listed(tmp_path: Path, web_dir) -> None:
    src = tmp_path / "src"
    (src / "feed").mkdir(parents=True)
    (src / "risk.tif").write_bytes(b"II*\x00fake")
    (src / "feed" / "atom.xml").write_text("<feed/>")
    out = build_site(tmp_path / "site", **{**synthetic_inputs(), "downloads": {
        "risk_max.tif": src / "risk.tif", "cap": src / "feed"}})
    assert (out / "downloads" / "risk_max.tif").read_bytes() == b"II*\x00fake"
    assert (out / "downloads" / "cap" / "atom.xml").is_file()
    about = (out / "about.html").read_text(encoding="utf-8")
    assert 'href="downloads/risk_max.tif"' in about and 'href="downloads/cap/atom.xml"' in about
    check_site(out)
