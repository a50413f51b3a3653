"""Check a built site before it goes live: every page there, nothing loaded from elsewhere.

A page that loads a script, stylesheet, font or image from another host breaks when
that host is down (CDNs fail in exactly the storms this site is for) and tells that
host who is reading the warnings. :func:`check_site` fails the release if any
``.html``, ``.css`` or ``.js`` file refers to an external URL (``http://``,
``https://`` or protocol-relative ``//``), with three exceptions that load nothing:

* ``<a href="https://…">`` hyperlinks (data licences, DMI): followed only when the
  reader clicks; pages send no referrer;
* XML namespace names (``http://www.w3.org/2000/svg``), which are identifiers;
* URLs inside CSS/JS block comments (licence banners of vendored files).

The configured tile service (``site-manifest.json``) is the one allowed host. Local
references (``src``, ``href``, CSS ``url()``, overlay image paths) must resolve to
files inside the release.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from wetindex.site.i18n import LANGUAGES

#: Pages every language has.
PAGES: tuple[str, ...] = ("index.html", "warnings.html", "status.html", "about.html")

#: Files describing the release for machines.
MANIFEST = "site-manifest.json"

_ABSOLUTE = re.compile(r"https?://[^\s\"'()<>`\\]+", re.IGNORECASE)
# "//host…" right after a quote, "(", "=" or "," — an attribute, url() or string —
# and not "// comment" in a script.
_PROTOCOL_RELATIVE = re.compile(r"""(?:["'(=`]|,)\s*(//[A-Za-z0-9\[][^\s"'()<>`\\]*)""")
# An <a href=…> opening just before the URL, also inside a JSON string ("\u003ca").
_ANCHOR_BEFORE = re.compile(r"""(?:<|\\u003c)a\s[^<>]*\bhref\s*=\s*\\?["']?$""", re.IGNORECASE)
_NAMESPACES = ("http://www.w3.org/",)
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_LEADING_BLOCK_COMMENT = re.compile(r"^[ \t]*/\*.*?\*/", re.DOTALL | re.MULTILINE)
_ATTR_REF = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)""", re.IGNORECASE)
_STATIC_STRING = re.compile(r"""["']((?:\.\./)*static/[^"']+)["']""")
_NOT_FILES = ("#", "data:", "mailto:", "tel:", "javascript:")


class SiteCheckError(RuntimeError):
    """A built site that must not be published; the message lists every problem."""


def required_files() -> list[str]:
    """Release-relative paths that every build must contain."""
    files = [*PAGES]
    for lang in LANGUAGES[1:]:
        files += [f"{lang}/{p}" for p in PAGES]
    return [*files, "warnings.geojson", MANIFEST]


def _tile_host_pattern(url: str | None) -> re.Pattern[str] | None:
    if not url:
        return None
    parts = urlsplit(url)
    host = re.sub(r"\\\{[^}]*\\\}", r"[A-Za-z0-9*{}-]*", re.escape(parts.netloc))
    return re.compile(rf"{re.escape(parts.scheme)}://{host}", re.IGNORECASE)


def _is_allowed(text: str, start: int, url: str, tile: re.Pattern[str] | None) -> bool:
    if url.lower().startswith(_NAMESPACES):
        return True
    if _ANCHOR_BEFORE.search(text[max(0, start - 400):start]):
        return True
    if tile is not None:
        parts = urlsplit(url if not url.startswith("//") else "https:" + url)
        if tile.fullmatch(f"{parts.scheme}://{parts.netloc}"):
            return True
    return False


def external_references(text: str, suffix: str, tile_url: str | None = None) -> list[str]:
    """External URLs in one file's text that would load something from another host."""
    if suffix == ".css":
        text = _BLOCK_COMMENT.sub(" ", text)
    elif suffix == ".js":
        text = _LEADING_BLOCK_COMMENT.sub(" ", text)
    tile = _tile_host_pattern(tile_url)
    found = []
    for match in _ABSOLUTE.finditer(text):
        url = match.group(0).rstrip(".,;:")
        if not _is_allowed(text, match.start(), url, tile):
            found.append(url)
    for match in _PROTOCOL_RELATIVE.finditer(text):
        if not _is_allowed(text, match.start(1), match.group(1), tile):
            found.append(match.group(1))
    return found


def _local_references(text: str, suffix: str) -> set[str]:
    if suffix == ".css":
        refs = set(_CSS_URL.findall(_BLOCK_COMMENT.sub(" ", text)))
    else:
        refs = set(_ATTR_REF.findall(text)) | set(_STATIC_STRING.findall(text))
    return {
        r for r in refs
        if not r.lower().startswith(_NOT_FILES) and "//" not in r and not r.startswith("{")
    }


def check_site(folder: Path, *, tile_url: str | None = None) -> None:
    """Fail if the site in ``folder`` is incomplete or loads anything from another host.

    Parameters
    ----------
    folder : Path
        Root of a built release.
    tile_url : str, optional
        Allowed tile service URL template; by default the one recorded in the
        release's ``site-manifest.json`` (none → no external host allowed).

    Raises
    ------
    SiteCheckError
        Listing each missing page, each external reference (file and URL) and each
        local reference that points at no file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SiteCheckError(f"{folder}: no such site folder")
    problems = [f"{rel}: missing page" for rel in required_files() if not (folder / rel).is_file()]
    manifest = folder / MANIFEST
    if tile_url is None and manifest.is_file():
        tile_url = (json.loads(manifest.read_text(encoding="utf-8")).get("tile_service")
                    or {}).get("url")
    for path in sorted(folder.rglob("*")):
        if path.suffix not in (".html", ".css", ".js") or not path.is_file():
            continue
        rel = path.relative_to(folder).as_posix()
        text = path.read_text(encoding="utf-8", errors="replace")
        for url in external_references(text, path.suffix, tile_url):
            problems.append(f"{rel}: external reference {url}")
        if path.suffix == ".js":
            continue
        for ref in sorted(_local_references(text, path.suffix)):
            target = (path.parent / unquote(ref.split("#")[0].split("?")[0])).resolve()
            if not target.exists() or not target.is_relative_to(folder.resolve()):
                problems.append(f"{rel}: broken local reference {ref}")
    if problems:
        raise SiteCheckError(f"site check failed for {folder}:\n  " + "\n  ".join(problems))
