"""Build the citizen site: four pages and one page per place, in Danish (``/``) and
English (``/en/``).

:func:`build_site` writes a complete, self-contained static site into one folder:
pages rendered from ``web/templates`` with texts from ``web/i18n``, Leaflet and the
site's CSS/JS copied in, PNG map overlays, the warnings (``warnings.geojson`` for
machines, a simplified file per language for the map), the base map, the search
index, the CAP/Atom feed, the GIS downloads and ``site-manifest.json``. Publishing it
atomically is :mod:`wetindex.site.publish`'s job.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
import shapely
import xarray as xr
from markupsafe import Markup
from shapely.geometry.base import BaseGeometry

from wetindex.alerts.signup_page import render_signup_page, write_places
from wetindex.grid import AreaGrid
from wetindex.site import content, places
from wetindex.site.assets import VendorAssets, copy_assets, resolve_web_dir
from wetindex.site.basemap import BUILDINGS_MIN_ZOOM, write_basemap
from wetindex.site.check import MANIFEST, PAGES
from wetindex.site.i18n import LANGUAGES, Formatter, TranslationError, load_translations
from wetindex.site.layers import RISK_CLASSES, WATER_COLOURS, LayerImages, write_layer_images
from wetindex.site.mapview import _warning_style, build_map
from wetindex.site.publish import link_or_copy
from wetindex.site.search import load_addresses, search_index
from wetindex.warnings import RunStatus, WarningArea

#: Files of the CAP/Atom feed folder that are the feed's own memory, never published.
_FEED_PRIVATE = ("feed_state.json",)

#: The alerts sign-up page (its template comes with the alerts service).
SIGNUP_PAGE = "signup.html"


class Texts:
    """Translations with attribute access for templates; a missing key is a clear error."""

    __slots__ = ("_data", "_path")

    def __init__(self, data: dict[str, Any], path: str):
        self._data, self._path = data, path

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        return self[key]

    def __getitem__(self, key: str) -> Any:
        if key not in self._data:
            raise TranslationError(f"translation key {self._path}.{key} is missing")
        value = self._data[key]
        return Texts(value, f"{self._path}.{key}") if isinstance(value, dict) else value


def _copy_downloads(downloads: dict[str, Path] | None, target: Path) -> list[dict[str, Any]]:
    target.mkdir(parents=True, exist_ok=True)
    listed = []
    for name, source in (downloads or {}).items():
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"downloads: name {name!r} must be a plain file or folder name")
        source = Path(source)
        if source.is_dir():
            shutil.copytree(source, target / name, dirs_exist_ok=True,
                            copy_function=link_or_copy)
            copied = sorted(p for p in (target / name).rglob("*") if p.is_file())
        elif source.is_file():
            link_or_copy(source, target / name)
            copied = [target / name]
        else:
            raise FileNotFoundError(f"downloads: {name!r} -> {source} does not exist")
        listed += [{"name": p.relative_to(target).as_posix(),
                    "href": "downloads/" + p.relative_to(target).as_posix(),
                    "kb": max(1, round(p.stat().st_size / 1024))} for p in copied]
    return listed


def _csp(tile_service: dict | None) -> str:
    """Content-Security-Policy: the browser itself refuses any other host."""
    img = "'self' data:"
    if tile_service:
        parts = urlsplit(tile_service["url"])
        img += f" {parts.scheme}://{parts.netloc.replace('{s}', '*')}"
    return ("default-src 'self'; script-src 'self' 'unsafe-inline'; "
            "style-src 'self' 'unsafe-inline'; "
            f"img-src {img}; connect-src 'self'; font-src 'self'; object-src 'none'; "
            "base-uri 'none'; form-action 'none'")


def _level_css() -> Markup:
    """CSS custom properties with the level colours, from the one palette in layers.py."""
    rules = [f"--risk-{key}: {colour};" for key, colour, _ in RISK_CLASSES.values()]
    rules += [f"--water-{i}: {colour};" for i, (colour, _) in WATER_COLOURS.items()]
    return Markup(":root { " + " ".join(rules) + " }")


def _copy_feed(feed_dir: Path | None, out_dir: Path) -> str | None:
    """Copy the CAP/Atom feed (not its state file) to ``feed/``; the Atom file's path."""
    if feed_dir is None:
        return None
    feed_dir = Path(feed_dir)
    if not (feed_dir / "atom.xml").is_file():
        raise FileNotFoundError(f"feed_dir: {feed_dir / 'atom.xml'} does not exist; write the "
                                "feed (wetindex run publish) before building the site")
    target = out_dir / "feed"
    for path in sorted(feed_dir.rglob("*")):
        if path.is_file() and path.name not in _FEED_PRIVATE and not path.name.startswith("."):
            dest = target / path.relative_to(feed_dir)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
    return "feed/atom.xml"


def _driver_lists(drivers: xr.Dataset | None, forecast: xr.Dataset | None,
                  dike_crest: float | None) -> dict[str, Any] | None:
    """Rain [mm/h] and sea level [m] per forecast lead as plain lists (area means)."""
    if drivers is None or forecast is None:
        return None
    leads = [int(v) for v in forecast["lead"].values]
    out: dict[str, Any] = {"dike_crest": dike_crest}
    for name in ("rain", "sea_level"):
        if name not in drivers:
            continue
        da = drivers[name]
        if "lead" not in da.dims:
            raise ValueError(f"drivers: {name} has dims {da.dims}; give it on 'lead' (hours)")
        da = da.mean([d for d in da.dims if d != "lead"]) if da.ndim > 1 else da
        da = da.reindex(lead=leads)
        out[name] = [float(v) for v in da.values]
    return out


def build_site(
    out_dir: Path, *, forecast: xr.Dataset | None, warnings: list[WarningArea],
    status: RunStatus, outline: BaseGeometry, elevation: xr.DataArray,
    attributions: list[dict], scorecard: dict | None = None,
    observed_water: xr.DataArray | None = None, downloads: dict[str, Path] | None = None,
    tile_service: dict | None = None, web_dir: Path | None = None,
    feed_dir: Path | None = None, contact: dict[str, str] | None = None,
    places_in: list[Any] | None = None, drivers: xr.Dataset | None = None,
    dike_crest: float | None = None, addresses: Any = None,
    basemap: dict[str, Any] | None = None, area_id: str | None = None,
) -> Path:
    """Write the whole citizen site into ``out_dir`` and return it.

    Parameters
    ----------
    out_dir : Path
        Folder to write into (created if absent), e.g. a new release folder.
    forecast : xr.Dataset or None
        ``probability`` and ``level`` on ``("lead", "y", "x")``; None (or
        ``status.forecast_ok`` False) shows "no forecast" everywhere, never "no risk".
    warnings : list of WarningArea
        Current warnings (geometry in lon/lat).
    status : RunStatus
        Health of the run; anything not healthy puts a banner on every page.
    outline : shapely geometry
        Area boundary in the grid CRS.
    elevation : xr.DataArray
        Terrain on the grid, drawn as the offline hillshade base map.
    attributions : list of dict
        ``{"name", "licence", "attribution", "url"}`` per data source.
    scorecard : dict or None
        Latest evaluation summary; None shows "not evaluated yet".
    observed_water : xr.DataArray or None
        int8 1 water, 0 dry, -1 unknown, with ``attrs["time"]``.
    downloads : dict of str to Path, optional
        GIS files or folders (GeoTIFFs) copied under ``downloads/`` and listed for GIS
        users, apart from the citizens' downloads (warnings GeoJSON, feed).
    tile_service : dict or None
        ``{"url", "attribution"}`` of a tile service; off by default (no other host).
    web_dir : Path or None
        Templates, translations, static files and ``node_modules``; default
        ``$WETINDEX_WEB_DIR`` or ``./web``.
    feed_dir : Path or None
        The CAP/Atom feed folder (``atom.xml``, ``cap/``), published under ``feed/``
        and linked from every page; its state file is not published.
    contact : dict or None
        The municipality's contact: ``name`` and any of ``url``, ``email``, ``phone``.
    places_in : list or None
        Named places (``name``, ``kind``, ``geometry`` in the grid CRS), one page each;
        None makes the whole area one place.
    drivers : xr.Dataset or None
        The drivers' forecast on ``lead``: ``rain`` [mm/h], ``sea_level`` [m], drawn
        on every place page.
    dike_crest : float or None
        Lowest dike crest [m], drawn against the sea level.
    addresses : Path, DataFrame or None
        Address file (see :mod:`wetindex.site.search`) or a frame of ``label``,
        ``lon``, ``lat``, searched in the browser.
    basemap : dict or None
        Base-map layers (see :mod:`wetindex.site.basemap`).
    area_id : str or None
        The area's name for the sign-up API (default: the forecast's ``area``).

    Returns
    -------
    Path
        ``out_dir``.
    """
    out_dir = Path(out_dir)
    web = resolve_web_dir(web_dir)
    texts = load_translations(web / "i18n")
    if forecast is not None:
        content.validate_forecast(forecast)
    if elevation.rio.crs is None:
        raise ValueError("elevation: no CRS; write the grid CRS with .rio.write_crs()")
    if tile_service is not None and not str(tile_service.get("url", "")).startswith("https://"):
        raise ValueError("tile_service: needs an https:// 'url' (and an 'attribution')")
    state = content.forecast_state(forecast, status)
    shown = forecast if state != "missing" else None
    grid = AreaGrid.from_dataarray(elevation)

    out_dir.mkdir(parents=True, exist_ok=True)
    assets = copy_assets(web, out_dir)
    images = write_layer_images(out_dir, elevation=elevation, forecast=shown,
                                observed_water=observed_water)
    outline_ll = content.outline_geojson(outline, elevation.rio.crs,
                                         tolerance=images.display.ground_cell / 2)
    geojson = content.warnings_geojson(warnings, state, status.issue_time)
    (out_dir / "warnings.geojson").write_text(json.dumps(geojson, ensure_ascii=False),
                                              encoding="utf-8")
    listed = _copy_downloads(downloads, out_dir / "downloads")
    feed_href = _copy_feed(feed_dir, out_dir)
    hours = content.hour_summaries(shown) if shown is not None else []
    site_places = places.as_site_places(places_in, outline, status.area_name, warnings,
                                        grid.crs)
    series = places.place_series(site_places, grid, shown, warnings)
    if addresses is not None and not hasattr(addresses, "columns"):
        addresses = load_addresses(Path(addresses), grid.crs)
    (out_dir / "search-index.json").write_text(
        json.dumps(search_index(series, addresses), ensure_ascii=False, separators=(",", ":")),
        encoding="utf-8")
    basemap_files = write_basemap(out_dir, basemap, crs=grid.crs, outline=outline)
    driver_lists = _driver_lists(drivers, shown, dike_crest)

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(web / "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    has_signup = (SIGNUP_PAGE in PAGES
                  or (web / "templates" / f"{SIGNUP_PAGE}.j2").is_file())
    shared = {
        "state": state, "status": status, "area_name": status.area_name,
        "level_css": _level_css(), "csp": _csp(tile_service), "attributions": attributions,
        "downloads": listed, "has_water": images.water is not None,
        "thresholds": content.thresholds(shown),
        "warning_chance": content.thresholds(shown, "warning_chance"), "scorecard": scorecard,
        "feed_href": feed_href, "contact": contact or {}, "has_signup": has_signup,
        "signup_page": SIGNUP_PAGE,
    }
    for lang in LANGUAGES:
        _render_language(env, out_dir, lang, texts, shared, status=status, warnings=warnings,
                         hours=hours, images=images, assets=assets, outline_ll=outline_ll,
                         observed_water=observed_water, tile_service=tile_service,
                         series=series, drivers=driver_lists, basemap_files=basemap_files)

    if has_signup:  # the sign-up page offers the area's places (places.json)

        area = area_id or (forecast.attrs.get("area") if forecast is not None else None)
        write_places(out_dir, area or status.area_name, places_in or [], grid.crs, outline)
    manifest = {
        "area_name": status.area_name, "forecast_state": state,
        "issue_time": status.issue_time.isoformat() if status.issue_time else None,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "languages": list(LANGUAGES), "pages": list(PAGES),
        "place_pages": [f"places/{s.slug}.html" for s in series],
        "leaflet_version": assets.leaflet_version, "tile_service": tile_service,
        "warnings": len(warnings), "basemap": basemap_files, "feed": feed_href,
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return out_dir


def _drop_small(geom: BaseGeometry, pixel_deg: float) -> BaseGeometry:
    """Without holes and parts smaller than 5 × 5 map pixels: on a phone they are noise,
    and they make up most of the file. The warnings' own GeoJSON keeps them."""
    least = (5 * pixel_deg) ** 2
    parts = getattr(geom, "geoms", [geom])
    kept = [shapely.Polygon(p.exterior, [h for h in p.interiors
                                         if shapely.Polygon(h).area >= least])
            for p in parts if p.geom_type == "Polygon" and p.area >= least]
    if not kept:  # never drop a whole warning: keep its largest part
        kept = [max(parts, key=lambda p: p.area)]
    return shapely.MultiPolygon(kept) if len(kept) > 1 else kept[0]


def _map_warnings_file(out_dir: Path, lang: str, t: dict[str, Any], f: Formatter,
                       warnings: list[WarningArea], ground_cell: float) -> str:
    """The warning polygons for the map, labelled in ``lang`` and simplified to the map
    images' pixel (``ground_cell`` metres), as a file; ``warnings.geojson`` keeps the
    full geometry for machines."""
    data = content.map_warnings(t, f, warnings)
    tolerance = ground_cell / 111_000.0  # metres to degrees of latitude (a bit less in lon)
    for feature in data["features"]:
        geom = _drop_small(shapely.geometry.shape(feature["geometry"]), tolerance)
        geom = geom.simplify(tolerance, preserve_topology=True)
        feature["geometry"] = content._round_coords(shapely.geometry.mapping(geom), 5)
        feature["properties"]["style"] = _warning_style(feature)
    rel = f"static/layers/warnings_{lang}.geojson"
    (out_dir / rel).write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")),
                               encoding="utf-8")
    return rel


def _render_language(env: jinja2.Environment, out_dir: Path, lang: str,
                     texts: dict[str, dict[str, Any]], shared: dict[str, Any], *,
                     status: RunStatus, warnings: list[WarningArea],
                     hours: list[content.HourSummary], images: LayerImages,
                     assets: VendorAssets,
                     outline_ll: dict, observed_water: xr.DataArray | None,
                     tile_service: dict | None, series: list[places.PlaceSeries],
                     drivers: dict[str, Any] | None, basemap_files: dict[str, str]) -> None:
    t = texts[lang]
    f = Formatter(t)
    default = lang == LANGUAGES[0]
    root = "" if default else "../"
    page_dir = out_dir if default else out_dir / lang
    page_dir.mkdir(parents=True, exist_ok=True)
    other = LANGUAGES[1] if default else LANGUAGES[0]
    state = shared["state"]

    hour_entries = content.hour_entries(t, f, hours, {k: root + v for k, v in
                                                      images.hourly.items()})
    water_label = None
    if observed_water is not None:
        when = observed_water.attrs.get("time")
        water_label = t["map"]["layer_water"].format(
            time=f.both(content.to_utc_datetime(when)) if when else f.both(None))
    map_parts = build_map(
        images=images, root=root, assets=assets, texts=t, outline=outline_ll,
        warnings=content.map_warnings(t, f, warnings),
        first_lead=hour_entries[0]["lead"] if hour_entries else None,
        water_label=water_label, tile_service=tile_service,
    )
    warnings_file = _map_warnings_file(out_dir, lang, t, f, warnings,
                                       images.display.ground_cell)
    place_links = [{"name": s.place.name, "href": f"places/{s.slug}.html",
                    "level": s.warning.level_name if s.warning else "none",
                    "level_text": t["levels"][s.warning.level_name] if s.warning else
                    t["levels"]["none"]} for s in sorted(
                        series, key=lambda s: (-(s.warning.level if s.warning else 0),
                                               s.place.name))]
    # Paths in page data are relative to the page (as check_site resolves them).
    map_data = {
        "warnings": root + warnings_file, "warningsName": t["map"]["layer_warnings"],
        "basemap": {k: root + v for k, v in basemap_files.items()},
        "buildingsMinZoom": BUILDINGS_MIN_ZOOM,
        "labels": [{"name": s.place.name, "href": f"places/{s.slug}.html",
                    "at": s.label_at} for s in series],
        "layerNames": {k: t["map"][f"layer_{k}"] for k in ("roads", "buildings", "water",
                                                            "landuse")},
    }
    slugs = {s.place.name: f"places/{s.slug}.html" for s in series}
    stale_after = status.next_update
    ctx = {
        **shared, "lang": lang, "other_lang": other, "t": Texts(t, lang), "root": root,
        "here": "",
        "headline": content.headline(t, f, state, warnings, lang),
        "issued": f.both(status.issue_time), "next_update": f.both(status.next_update),
        "generated": f.both(status.generated_at),
        "next_update_iso": stale_after.astimezone(UTC).isoformat() if stale_after else "",
        "unhealthy": content.unhealthy_inputs(t, f, status),
        "hours": hour_entries,
        "hours_json": Markup(json.dumps(hour_entries, ensure_ascii=False).replace("</", "<\\/")),
        "map_json": Markup(json.dumps(map_data, ensure_ascii=False).replace("</", "<\\/")),
        "map": {k: Markup(v) for k, v in vars(map_parts).items()},
        "warning_rows": [{**row, "href": slugs.get(row["place"])}
                         for row in content.warning_rows(t, f, warnings)],
        "input_rows": content.input_rows(t, f, status),
        "score_tables": content.scorecard_tables(t, f, shared["scorecard"]),
        "scorecard_meta": _scorecard_meta(t, f, shared["scorecard"]),
        "chance_text": {k: f.percent(v) for k, v in shared["warning_chance"].items()},
        "place_links": place_links,
    }
    for page in PAGES:
        other_href = (f"{other}/{page}" if default else f"../{page}")
        html = env.get_template(page + ".j2").render(page=page, other_href=other_href, **ctx)
        (page_dir / page).write_text(html, encoding="utf-8")

    render_signup_page(env, page_dir, lang, ctx, assets=assets, default=default)

    times = [h.valid_time for h in hours]
    (page_dir / "places").mkdir(exist_ok=True)
    for s in series:
        rel = f"places/{s.slug}.html"
        up = root + "../"
        other_href = (f"../{other}/{rel}" if default else f"../../{rel}")
        place_ctx = {
            **ctx, "root": root + "../", "here": "../",
            **places.place_context(t, f, s, times, shared["thresholds"], drivers, state,
                                   lang=lang),
            "place_map": Markup(json.dumps({
                "bounds": s.bounds, "outline": s.outline, "images": images.display.bounds,
                "hillshade": up + images.hillshade,
                "maximum": up + images.maximum if images.maximum else None,
                "basemap": {k: up + v for k, v in basemap_files.items()},
                "buildingsMinZoom": BUILDINGS_MIN_ZOOM,
            }, ensure_ascii=False).replace("</", "<\\/")),
        }
        html = env.get_template("place.html.j2").render(page="place.html",
                                                        other_href=other_href, **place_ctx)
        (page_dir / rel).write_text(html, encoding="utf-8")


def _scorecard_meta(t: dict[str, Any], f: Formatter, scorecard: dict | None) -> str:
    if not scorecard:
        return ""
    evaluated = scorecard.get("evaluated_at")
    when = f.both(content.to_utc_datetime(evaluated)) if evaluated else f.both(None)
    return t["about"]["scorecard_meta"].format(
        model_version=scorecard.get("model_version", "?"), evaluated_at=when)
