"""Offline front-end assets: Leaflet from npm and the site's own CSS/JS.

The citizen site must work when CDNs do not and must not tell any third party who
is looking at it, so every script, stylesheet and image the pages load is copied
into the release itself. Leaflet comes from ``web/node_modules`` (installed with
``npm ci --prefix web`` from the pinned ``web/package-lock.json``); the build fails
with a clear message when it is missing rather than falling back to a CDN.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

#: Where vendored assets go inside a release.
VENDOR_DIR = "static/vendor"

#: Leaflet files the pages need: the library, its stylesheet and the images the
#: stylesheet refers to (layer-control icon, default marker icons).
_LEAFLET_FILES = (
    "leaflet.js",
    "leaflet.css",
    "images/layers.png",
    "images/layers-2x.png",
    "images/marker-icon.png",
    "images/marker-icon-2x.png",
    "images/marker-shadow.png",
)


class AssetError(RuntimeError):
    """A front-end asset the site needs is not installed."""


@dataclass(frozen=True)
class VendorAssets:
    """Release-relative paths of the vendored scripts and stylesheets."""

    leaflet_js: str
    leaflet_css: str
    site_css: str
    site_js: str
    leaflet_version: str


def resolve_web_dir(web_dir: Path | None) -> Path:
    """The folder holding ``templates/``, ``i18n/``, ``static/`` and ``node_modules/``.

    Parameters
    ----------
    web_dir : Path or None
        Explicit folder; when None, ``$WETINDEX_WEB_DIR`` or ``./web``.
    """
    if web_dir is None:
        web_dir = Path(os.environ.get("WETINDEX_WEB_DIR", "web"))
    web_dir = Path(web_dir)
    missing = [p for p in ("templates", "i18n", "static") if not (web_dir / p).is_dir()]
    if missing:
        raise AssetError(
            f"web_dir {web_dir.resolve()} lacks {', '.join(missing)}/: pass web_dir= or set "
            "WETINDEX_WEB_DIR to the repository's web/ folder"
        )
    return web_dir


def _pinned_leaflet_version(web_dir: Path) -> str | None:
    lock = web_dir / "package-lock.json"
    if not lock.is_file():
        return None
    packages = json.loads(lock.read_text(encoding="utf-8")).get("packages", {})
    return packages.get("node_modules/leaflet", {}).get("version")


def copy_assets(web_dir: Path, release_dir: Path) -> VendorAssets:
    """Copy Leaflet and the site's static files into ``release_dir/static``.

    Parameters
    ----------
    web_dir : Path
        The web folder (see :func:`resolve_web_dir`).
    release_dir : Path
        Root of the site being built.

    Returns
    -------
    VendorAssets
        Release-relative paths to link from the pages.

    Raises
    ------
    AssetError
        If Leaflet is not installed under ``web/node_modules`` or its version differs
        from the one pinned in ``web/package-lock.json``.
    """
    leaflet_dir = web_dir / "node_modules" / "leaflet"
    dist = leaflet_dir / "dist"
    if not (dist / "leaflet.js").is_file():
        raise AssetError(
            f"Leaflet is not installed in {leaflet_dir}: run `npm ci --prefix {web_dir}` "
            "(the site never loads it from a CDN)"
        )
    installed = json.loads((leaflet_dir / "package.json").read_text(encoding="utf-8"))["version"]
    pinned = _pinned_leaflet_version(web_dir)
    if pinned is not None and pinned != installed:
        raise AssetError(
            f"Leaflet {installed} is installed in {leaflet_dir} but package-lock.json pins "
            f"{pinned}: run `npm ci --prefix {web_dir}`"
        )

    target = release_dir / VENDOR_DIR / "leaflet"
    for rel in _LEAFLET_FILES:
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dist / rel, dest)

    static_out = release_dir / "static"
    for item in (web_dir / "static").iterdir():
        if item.is_file():
            shutil.copyfile(item, static_out / item.name)
        elif item.is_dir():
            shutil.copytree(item, static_out / item.name, dirs_exist_ok=True)

    return VendorAssets(
        leaflet_js=f"{VENDOR_DIR}/leaflet/leaflet.js",
        leaflet_css=f"{VENDOR_DIR}/leaflet/leaflet.css",
        site_css="static/site.css",
        site_js="static/site.js",
        leaflet_version=installed,
    )
