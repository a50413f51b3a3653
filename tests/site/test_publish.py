"""check_site (nothing from other hosts) and atomic releases with rollback."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from site_inputs import synthetic_inputs

from wetindex.site import PublishError, SiteCheckError, build_site, check_site, publish_release
from wetindex.site import rollback as rollback_release
from wetindex.site.check import external_references


@pytest.fixture(scope="module")
def template_site(tmp_path_factory, web_dir) -> Path:
    return build_site(tmp_path_factory.mktemp("template"), **synthetic_inputs())


@pytest.fixture
def site(template_site: Path, tmp_path: Path) -> Path:
    out = tmp_path / "site"
    shutil.copytree(template_site, out)
    return out


def _copy_into(template: Path):
    def build(release: Path) -> None:
        shutil.copytree(template, release, dirs_exist_ok=True)
    return build


# --- check_site ----------------------------------------------------------------------

def test_built_site_passes_and_vendored_leaflet_is_there(site: Path) -> None:
    check_site(site)
    assert (site / "static/vendor/leaflet/leaflet.js").is_file()
    assert (site / "static/vendor/leaflet/images/layers.png").is_file()


def test_injected_https_script_is_caught_with_file_and_url(site: Path) -> None:
    page = site / "en" / "status.html"
    page.write_text(page.read_text(encoding="utf-8").replace(
        "</head>", '<script src="https://cdn.example.com/x.js"></script></head>'),
        encoding="utf-8")
    with pytest.raises(SiteCheckError) as err:
        check_site(site)
    assert "en/status.html: external reference https://cdn.example.com/x.js" in str(err.value)


def test_protocol_relative_references_are_caught(site: Path) -> None:
    css = site / "static" / "site.css"
    css.write_text(css.read_text(encoding="utf-8")
                   + "\n@font-face { src: url(//fonts.example.net/a.woff2); }\n", encoding="utf-8")
    page = site / "about.html"
    page.write_text(page.read_text(encoding="utf-8").replace(
        "</head>", "<link rel='stylesheet' href='//cdn.example.org/b.css'></head>"),
        encoding="utf-8")
    with pytest.raises(SiteCheckError) as err:
        check_site(site)
    assert "static/site.css: external reference //fonts.example.net/a.woff2" in str(err.value)
    assert "about.html: external reference //cdn.example.org/b.css" in str(err.value)


def test_what_loads_nothing_is_not_flagged() -> None:
    html = ('<a href="https://www.dmi.dk/">DMI</a> <svg xmlns="http://www.w3.org/2000/svg"></svg>'
            "<script>// a comment, not //a.host\nvar x = 1; // http is fine here?</script>")
    assert external_references(html, ".html") == []
    js = "/* Leaflet https://leafletjs.com */\nvar a='<a href=\"https://leafletjs.com\">L</a>';"
    assert external_references(js, ".js") == []
    assert external_references("var u = 'https://evil.example/t.js';", ".js") == [
        "https://evil.example/t.js"]
    assert external_references('<img src="https://x.example/i.png">', ".html") == [
        "https://x.example/i.png"]


def test_configured_tile_service_is_the_one_allowed_host(tmp_path: Path, web_dir) -> None:
    tiles = {"url": "https://{s}.tiles.example.dk/{z}/{x}/{y}.png",
             "attribution": '<a href="https://tiles.example.dk/about">Example tiles</a>'}
    out = build_site(tmp_path / "site", **{**synthetic_inputs(), "tile_service": tiles})
    check_site(out)  # reads the allowed URL from the release manifest
    assert "https://*.tiles.example.dk" in (out / "index.html").read_text(encoding="utf-8")
    manifest = json.loads((out / "site-manifest.json").read_text())
    manifest["tile_service"] = None
    (out / "site-manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SiteCheckError, match=r"tiles\.example\.dk"):
        check_site(out)


def test_missing_page_and_broken_local_reference_are_caught(site: Path) -> None:
    (site / "en" / "about.html").unlink()
    (site / "static" / "layers" / "hillshade.png").unlink()
    with pytest.raises(SiteCheckError) as err:
        check_site(site)
    assert "en/about.html: missing page" in str(err.value)
    assert "index.html: broken local reference static/layers/hillshade.png" in str(err.value)


# --- publish_release / rollback ------------------------------------------------------

def test_publish_switches_atomically_and_keeps_previous(template_site: Path,
                                                        tmp_path: Path) -> None:
    root = tmp_path / "www"
    first = publish_release(root, _copy_into(template_site))
    assert (root / "current").is_symlink()
    assert (root / "current").resolve() == first.resolve()
    assert not os.path.isabs(os.readlink(root / "current"))  # relocatable

    seen_during_build: list[Path] = []

    def build(release: Path) -> None:
        # While the new release is built, readers still get the old one.
        seen_during_build.append((root / "current").resolve())
        _copy_into(template_site)(release)

    second = publish_release(root, build)
    assert seen_during_build == [first.resolve()]
    assert (root / "current").resolve() == second.resolve()
    assert first.is_dir(), "the previous release is kept for rollback"
    assert not list(root.glob(".current.*")), "no temporary symlink left behind"

    back = rollback_release(root)
    assert back == first and (root / "current").resolve() == first.resolve()
    with pytest.raises(PublishError, match="oldest kept release"):
        rollback_release(root)


def test_failing_build_leaves_current_untouched(template_site: Path, tmp_path: Path) -> None:
    root = tmp_path / "www"
    good = publish_release(root, _copy_into(template_site))

    def broken(release: Path) -> None:
        (release / "index.html").write_text("half")
        raise RuntimeError("forecast step crashed")

    with pytest.raises(RuntimeError, match="crashed"):
        publish_release(root, broken)
    assert (root / "current").resolve() == good.resolve()
    assert sorted(p.name for p in (root / "releases").iterdir()) == [good.name]


def test_failing_check_leaves_current_untouched(template_site: Path, tmp_path: Path) -> None:
    root = tmp_path / "www"
    good = publish_release(root, _copy_into(template_site))

    def leaky(release: Path) -> None:
        _copy_into(template_site)(release)
        page = release / "index.html"
        page.write_text(page.read_text(encoding="utf-8").replace(
            "</head>", '<script src="https://cdn.example.com/j.js"></script></head>'))

    with pytest.raises(SiteCheckError, match=r"cdn\.example\.com"):
        publish_release(root, leaky)
    assert (root / "current").resolve() == good.resolve()
    assert len(list((root / "releases").iterdir())) == 1


def test_old_releases_are_pruned_to_keep(template_site: Path, tmp_path: Path) -> None:
    root = tmp_path / "www"
    made = [publish_release(root, _copy_into(template_site), keep=2) for _ in range(4)]
    kept = sorted((root / "releases").iterdir())
    assert kept == made[-2:]
    assert (root / "current").resolve() == made[-1].resolve()


def test_real_folder_at_current_is_refused(template_site: Path, tmp_path: Path) -> None:
    root = tmp_path / "www"
    (root / "current").mkdir(parents=True)
    with pytest.raises(PublishError, match="not a symlink"):
        publish_release(root, _copy_into(template_site))
    with pytest.raises(PublishError):
        rollback_release(tmp_path / "empty")
