"""The Folium map of the citizen site, with every script served from the site itself.

Folium's default page pulls about 22 files from CDNs (Leaflet, jQuery, Bootstrap,
Font Awesome, …). Only Leaflet is needed here, so the map's ``default_js`` and
``default_css`` are replaced by the vendored copies, and only the pieces of Folium's
output that belong to the map (its div, its script, its layer styles) are embedded in
our own page template, which has its own accessible ``<head>`` (Folium's viewport tag
forbids zooming, which fails WCAG 1.4.4).

Overlays are linked PNG files, never inline data: the page loads the shown hour's
risk image only, and ``site.js`` swaps the image when the hour changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import folium
import numpy as np
from branca.element import MacroElement
from jinja2 import Template

from wetindex.site.assets import VendorAssets
from wetindex.site.layers import RISK_CLASSES, LayerImages

#: Outline and fill of warning polygons per level; dash patterns differ too, so the
#: levels are told apart without colour.
_WARNING_STYLE = {
    1: {"color": "#8a6d00", "dashArray": "6 4", "weight": 3},
    2: {"color": "#a34400", "dashArray": None, "weight": 3},
    3: {"color": "#5c0618", "dashArray": None, "weight": 5},
}


@dataclass(frozen=True)
class MapParts:
    """Folium's output split for embedding: ``<head>`` links/styles, the div, the script."""

    header: str
    body: str
    script: str
    #: ``<script src>`` of the libraries, placed just before ``script``.
    libraries: str = ""


class _Registry(MacroElement):
    """Expose the Leaflet objects ``site.js`` drives (the map and the hourly overlay)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.setPrefix("Leaflet");
        window.wetindexMap = {
            map: {{ this._parent.get_name() }},
            hourly: {{ this.hourly_name or "null" }},
            control: {{ this.control_name or "null" }}
        };
        {% endmacro %}"""
    )

    def __init__(self, hourly_name: str | None, control_name: str | None = None):
        super().__init__()
        self.hourly_name = hourly_name
        self.control_name = control_name


def _warning_style(feature: dict[str, Any]) -> dict[str, Any]:
    level = int(feature["properties"]["level"])
    colour = RISK_CLASSES[level + 1][1]
    style = {"fillColor": colour, "fillOpacity": 0.2, "opacity": 1.0, **_WARNING_STYLE[level]}
    return {k: v for k, v in style.items() if v is not None}


def build_map(
    *, images: LayerImages, root: str, assets: VendorAssets, texts: dict[str, Any],
    outline: dict[str, Any], warnings: dict[str, Any], first_lead: int | None,
    water_label: str | None, tile_service: dict | None,
) -> MapParts:
    """Build the Leaflet map and return the parts to embed in ``index.html``.

    Parameters
    ----------
    images : LayerImages
        The PNG overlays (release-relative paths).
    root : str
        Prefix from the page to the release root (``""`` or ``"../"``).
    assets : VendorAssets
        Vendored Leaflet paths.
    texts : dict
        The page language's translations.
    outline : dict
        GeoJSON FeatureCollection of the area outline in lon/lat.
    warnings : dict
        GeoJSON FeatureCollection of the warnings in lon/lat, with ``level`` and
        ``label`` properties.
    first_lead : int or None
        Lead hour shown when the page opens; None when there is no forecast (the map
        then shows "no forecast" over the whole area instead of risk).
    water_label : str or None
        Layer name of the observed water, None when there is none.
    tile_service : dict or None
        ``{"url", "attribution"}`` of an optional tile service.
    """
    tm = texts["map"]
    bounds = [list(images.display.bounds[0]), list(images.display.bounds[1])]
    centre = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
    m = folium.Map(location=centre, tiles=None, control_scale=True, zoom_start=12,
                   zoom_snap=0.25, zoom_delta=0.5)
    m.default_js = [("leaflet", root + assets.leaflet_js)]
    m.default_css = [("leaflet_css", root + assets.leaflet_css)]
    m.fit_bounds(bounds, padding=(8, 8))

    if tile_service:
        folium.TileLayer(
            tiles=tile_service["url"], attr=tile_service.get("attribution", ""),
            name=tm["layer_tiles"], overlay=False, control=True,
        ).add_to(m)

    def overlay(path: str, name: str, *, show: bool, class_name: str,
                **options: str) -> folium.ImageOverlay:
        # A 1-pixel placeholder keeps Folium from reading or embedding the file; the
        # real URL is the linked PNG.
        layer = folium.raster_layers.ImageOverlay(
            np.zeros((1, 1, 4)), bounds=bounds, name=name, show=show, className=class_name,
            interactive=False, alt="", pixelated=False, **options,
        )
        layer.url = root + path
        return layer.add_to(m)

    # The hillshade lies in the tile pane, under the base map's roads and buildings
    # (site.js draws those in a pane between tiles and the risk overlays).
    overlay(images.hillshade, tm["layer_hillshade"], show=not tile_service,
            class_name="wx-hillshade", pane="tilePane")
    folium.GeoJson(
        outline, name=tm["layer_outline"], interactive=False,
        style_function=lambda _f: {"color": "#1a1a1a", "weight": 2, "fill": False},
    ).add_to(m)

    hourly = None
    if first_lead is not None:
        overlay(images.maximum, tm["layer_max"], show=False, class_name="wx-risk-max")
        hourly = overlay(images.hourly[first_lead], tm["layer_hour"], show=True,
                         class_name="wx-risk-hourly")
    else:
        # No forecast: grey the whole area and say so, never an empty (safe-looking) map.
        folium.GeoJson(
            outline, name=tm["no_forecast"], interactive=False,
            style_function=lambda _f: {"color": "#4d4d4d", "weight": 2, "fillColor": "#6b6b6b",
                                       "fillOpacity": 0.45, "dashArray": "8 6"},
        ).add_to(m)

    # Warning polygons are not inlined: site.js loads them from a simplified GeoJSON
    # file per language (``warnings`` is kept in the signature for that file's content).
    if images.water is not None and water_label is not None:
        overlay(images.water, water_label, show=False, class_name="wx-water")

    control = folium.LayerControl(collapsed=True)
    control.add_to(m)
    _Registry(hourly.get_name() if hourly is not None else None,
              control.get_name()).add_to(m)

    figure = m.get_root()
    figure.render()
    header_parts, scripts = [], []
    for name, child in figure.header._children.items():
        # Drop Folium's charset meta and the map's own <head> block (a viewport that
        # disables zoom and full-window styles); keep links and layer styles.
        if name in ("meta_http", m.get_name()):
            continue
        html = child.render()
        # Leaflet's script goes to the end of the body, so it does not hold up the
        # first paint of the page's text (the map's own script needs it only there).
        (scripts if "<script" in html else header_parts).append(html)
    # The images shown first start loading with the page, not after Leaflet has run.
    first = [images.hillshade] if not tile_service else []
    if first_lead is not None:
        first.append(images.hourly[first_lead])
    header_parts += [f'<link rel="preload" as="image" href="{root}{path}">' for path in first]
    return MapParts(
        header="\n".join(header_parts),
        body=figure.html.render(),
        script=figure.script.render(),
        libraries="\n".join(scripts),
    )
