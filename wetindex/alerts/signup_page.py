"""The citizen site's "Get alerts" page (``signup.html``, ``en/signup.html``).

The page posts to the sign-up API at ``/api/`` of the site's own origin (see
:mod:`wetindex.alerts.serve`): no third-party request. A person picks one of the
area's places (``places.json``, written beside the pages by :func:`write_places`) or
gives a point and a radius (typed, or clicked on a map drawn with the site's own
Leaflet and no tiles), chooses a level, and confirms by e-mail.

:func:`render_signup_page` is called by :func:`wetindex.site.pages.build_site` for each
language; texts are in ``web/i18n/signup.yaml``, the template is
``web/templates/signup.html.j2``, the script ``web/static/signup.js``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from shapely.geometry import mapping

from wetindex.alerts.capgeometry import simplify_for_cap
from wetindex.alerts.subscriptions import reproject

PAGE = "signup.html"
PLACES_FILE = "places.json"


def _texts(template_dirs: list[str]) -> dict[str, dict[str, str]]:
    for folder in template_dirs:
        path = Path(folder).parent / "i18n" / "signup.yaml"
        if path.is_file():
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            keys = {lang: set(texts) for lang, texts in data.items()}
            if len({frozenset(k) for k in keys.values()}) != 1:
                raise ValueError(f"{path}: the languages have different keys: {keys}")
            return data
    raise FileNotFoundError(f"i18n/signup.yaml not found beside {template_dirs}")


def render_signup_page(env: Any, page_dir: Path, lang: str, ctx: dict[str, Any], *,
                       assets: Any, default: bool) -> Path:
    """Write ``signup.html`` of one language into ``page_dir`` and return its path."""
    texts = _texts(list(getattr(env.loader, "searchpath", [])))
    other = ctx["other_lang"]
    s = texts[lang]
    page_ctx = {**ctx, "page": PAGE,
                "other_href": f"{other}/{PAGE}" if default else f"../{PAGE}"}
    html = env.get_template("signup.html.j2").render(
        **page_ctx, s=s, leaflet_js=assets.leaflet_js, leaflet_css=assets.leaflet_css,
        texts_json=json.dumps(s, ensure_ascii=False))
    path = page_dir / PAGE
    path.write_text(html, encoding="utf-8")
    return path


def write_places(release_dir: Path, area: str, places: list[Any], crs: str,
                 outline: Any = None) -> Path:
    """``places.json``: the area's name for the API, its places and outline in lon/lat."""
    out = []
    for place in places:
        geometry = mapping(reproject(place.geometry, crs, "EPSG:4326"))
        out.append({"name": place.name, "kind": place.kind,
                    "geometry": simplify_for_cap(geometry, max_vertices=200, gap=5.0)})
    data: dict[str, Any] = {"area": area, "places": out}
    if outline is not None:
        data["outline"] = simplify_for_cap(mapping(reproject(outline, crs, "EPSG:4326")),
                                           max_vertices=300, gap=5.0)
    Path(release_dir).mkdir(parents=True, exist_ok=True)
    path = Path(release_dir) / PLACES_FILE
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path
