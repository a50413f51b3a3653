"""Build the citizen site: four pages in Danish (``/``) and English (``/en/``).

:func:`build_site` writes a complete, self-contained static site into one folder:
pages rendered from ``web/templates`` with texts from ``web/i18n``, Leaflet and the
site's CSS/JS copied in, PNG map overlays, ``warnings.geojson``, the downloads and
``site-manifest.json``. Publishing it atomically is :mod:`wetindex.site.publish`'s job.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
import xarray as xr
from markupsafe import Markup
from shapely.geometry.base import BaseGeometry

from wetindex.site import content
from wetindex.site.assets import VendorAssets, copy_assets, resolve_web_dir
from wetindex.site.check import MANIFEST, PAGES
from wetindex.site.i18n import LANGUAGES, Formatter, TranslationError, load_translations
from wetindex.site.layers import RISK_CLASSES, WATER_COLOURS, LayerImages, write_layer_images
from wetindex.site.mapview import build_map
from wetindex.warnings import RunStatus, WarningArea


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
            shutil.copytree(source, target / name, dirs_exist_ok=True)
            copied = sorted(p for p in (target / name).rglob("*") if p.is_file())
        elif source.is_file():
            shutil.copyfile(source, target / name)
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


def build_site(
    out_dir: Path, *, forecast: xr.Dataset | None, warnings: list[WarningArea],
    status: RunStatus, outline: BaseGeometry, elevation: xr.DataArray,
    attributions: list[dict], scorecard: dict | None = None,
    observed_water: xr.DataArray | None = None, downloads: dict[str, Path] | None = None,
    tile_service: dict | None = None, web_dir: Path | None = None,
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
        Files or folders copied under ``downloads/``.
    tile_service : dict or None
        ``{"url", "attribution"}`` of a tile service; off by default (no other host).
    web_dir : Path or None
        Templates, translations, static files and ``node_modules``; default
        ``$WETINDEX_WEB_DIR`` or ``./web``.

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
    hours = content.hour_summaries(shown) if shown is not None else []

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(web / "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    shared = {
        "state": state, "status": status, "area_name": status.area_name,
        "level_css": _level_css(), "csp": _csp(tile_service), "attributions": attributions,
        "downloads": listed, "has_water": images.water is not None,
        "thresholds": content.thresholds(shown), "scorecard": scorecard,
    }
    for lang in LANGUAGES:
        _render_language(env, out_dir, lang, texts, shared, status=status, warnings=warnings,
                         hours=hours, images=images, assets=assets, outline_ll=outline_ll,
                         observed_water=observed_water, tile_service=tile_service)

    manifest = {
        "area_name": status.area_name, "forecast_state": state,
        "issue_time": status.issue_time.isoformat() if status.issue_time else None,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "languages": list(LANGUAGES), "pages": list(PAGES),
        "leaflet_version": assets.leaflet_version, "tile_service": tile_service,
        "warnings": len(warnings),
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return out_dir


def _render_language(env: jinja2.Environment, out_dir: Path, lang: str,
                     texts: dict[str, dict[str, Any]], shared: dict[str, Any], *,
                     status: RunStatus, warnings: list[WarningArea],
                     hours: list[content.HourSummary], images: LayerImages,
                     assets: VendorAssets,
                     outline_ll: dict, observed_water: xr.DataArray | None,
                     tile_service: dict | None) -> None:
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
    stale_after = status.next_update
    ctx = {
        **shared, "lang": lang, "other_lang": other, "t": Texts(t, lang), "root": root,
        "headline": content.headline(t, f, state, warnings),
        "issued": f.both(status.issue_time), "next_update": f.both(status.next_update),
        "generated": f.both(status.generated_at),
        "next_update_iso": stale_after.astimezone(UTC).isoformat() if stale_after else "",
        "unhealthy": content.unhealthy_inputs(t, f, status),
        "hours": hour_entries,
        "hours_json": Markup(json.dumps(hour_entries, ensure_ascii=False).replace("</", "<\\/")),
        "map": {k: Markup(v) for k, v in vars(map_parts).items()},
        "warning_rows": content.warning_rows(t, f, warnings),
        "input_rows": content.input_rows(t, f, status),
        "score_tables": content.scorecard_tables(t, f, shared["scorecard"]),
        "scorecard_meta": _scorecard_meta(t, f, shared["scorecard"]),
        "threshold_text": {k: f.percent(v) for k, v in shared["thresholds"].items()},
    }
    for page in PAGES:
        other_href = (f"{other}/{page}" if default else f"../{page}")
        html = env.get_template(page + ".j2").render(page=page, other_href=other_href, **ctx)
        (page_dir / page).write_text(html, encoding="utf-8")
    from wetindex.alerts.signup_page import render_signup_page  # "Get alerts", signup.html

    render_signup_page(env, page_dir, lang, ctx, assets=assets, default=default)


def _scorecard_meta(t: dict[str, Any], f: Formatter, scorecard: dict | None) -> str:
    if not scorecard:
        return ""
    evaluated = scorecard.get("evaluated_at")
    when = f.both(content.to_utc_datetime(evaluated)) if evaluated else f.both(None)
    return t["about"]["scorecard_meta"].format(
        model_version=scorecard.get("model_version", "?"), evaluated_at=when)
