"""Atomic site releases: build into a new folder, check it, then switch a symlink.

Layout under ``site_root``::

    releases/20261124T130512.123456Z/   one complete site per publish
    current -> releases/20261124T130512.123456Z
    shared/<sha256>                     one copy of each file content releases share

Files a new release has in common with earlier ones (the vendored scripts, images of
a forecast published again, GIS downloads) are not stored twice: after the build each
file of at least :data:`SHARE_MIN_BYTES` is hashed, and a file whose content is
already under ``shared/`` is replaced by a hard link to it (:func:`share_unchanged`);
a new content is linked in. Releases are never modified after their switch, so
sharing inodes is safe; a content no release links any more is removed with the
releases pruned.

The web server serves ``site_root/current``. The switch is ``os.replace()`` of a
freshly made symlink over ``current``, which is atomic on POSIX: a reader sees the
old site or the new one, never half of each (``ln -sfn`` unlinks first and is not).
A build or check that fails removes its half-built folder and leaves ``current``
alone. Older releases are kept for :func:`rollback`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from wetindex.site.check import check_site

RELEASES = "releases"
CURRENT = "current"
#: Written last into a release once it is built and checked: only a release with it
#: can become ``current`` or a rollback target.
COMPLETE = ".complete"
SHARED = "shared"
#: Smaller files are not worth a hash and a link.
SHARE_MIN_BYTES = 4096


class PublishError(RuntimeError):
    """The site root is not in a state a release can be switched in."""


def _releases(site_root: Path) -> list[Path]:
    folder = site_root / RELEASES
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def is_complete(release: Path) -> bool:
    """True when the release was fully built and checked (its marker was written last)."""
    return (Path(release) / COMPLETE).is_file()


def clean_leftovers(site_root: Path) -> list[Path]:
    """Remove what killed publishes left: incomplete releases (never the live one) and
    temporary ``current`` symlinks. Returns what was removed."""
    site_root = Path(site_root)
    live = current_release(site_root) if (site_root / CURRENT).is_symlink() else None
    removed = []
    for release in _releases(site_root):
        if not is_complete(release) and (live is None or release.resolve() != live):
            shutil.rmtree(release, ignore_errors=True)
            removed.append(release)
    for tmp in site_root.glob(f".{CURRENT}.*") if site_root.is_dir() else []:
        if tmp.is_symlink():
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def current_release(site_root: Path) -> Path | None:
    """The release ``current`` points at, or None before the first publish."""
    link = site_root / CURRENT
    if not link.is_symlink():
        if link.exists():
            raise PublishError(
                f"{link} is a real file or folder, not a symlink: move it away so releases "
                "can be switched atomically"
            )
        return None
    return (site_root / os.readlink(link)).resolve()


def _switch(site_root: Path, release: Path) -> None:
    current_release(site_root)  # refuses to replace a real folder
    tmp = site_root / f".{CURRENT}.{uuid.uuid4().hex}"
    # Relative target, so the site root can be moved or mounted elsewhere.
    os.symlink(os.path.relpath(release, site_root), tmp)
    try:
        os.replace(tmp, site_root / CURRENT)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _new_release_dir(site_root: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    release = site_root / RELEASES / stamp
    while release.exists():  # two publishes in one microsecond
        release = release.with_name(release.name + "-" + uuid.uuid4().hex[:6])
    release.mkdir(parents=True)
    return release


def _prune(site_root: Path, keep: int) -> None:
    live = current_release(site_root)
    releases = _releases(site_root)
    for old in releases[: max(0, len(releases) - keep)]:
        if live is not None and old.resolve() == live:
            continue
        shutil.rmtree(old, ignore_errors=True)


def publish_release(site_root: Path, build: Callable[[Path], object], keep: int = 3) -> Path:
    """Build, check and atomically switch in a new site release.

    Parameters
    ----------
    site_root : Path
        Folder holding ``releases/`` and the ``current`` symlink (created if absent).
    build : callable
        ``build(release_dir)`` writes the site into the (empty, existing) folder, e.g.
        ``lambda d: build_site(d, forecast=..., ...)``.
    keep : int
        Number of newest releases to keep (the live one is never removed); at least 2
        keeps one to roll back to.

    Returns
    -------
    Path
        The new release folder, now live.

    Raises
    ------
    Exception
        Whatever ``build`` or :func:`~wetindex.site.check.check_site` raised; the
        half-built release is removed and ``current`` is unchanged.
    """
    if keep < 1:
        raise ValueError(f"keep={keep}: keep at least the live release (keep >= 1)")
    site_root = Path(site_root)
    site_root.mkdir(parents=True, exist_ok=True)
    current_release(site_root)  # fail before building if `current` is not a symlink
    clean_leftovers(site_root)
    release = _new_release_dir(site_root)
    try:
        build(release)
        share_unchanged(site_root, release)
        check_site(release)
        (release / COMPLETE).write_text(datetime.now(UTC).isoformat() + "\n")
        _switch(site_root, release)
    except BaseException:
        shutil.rmtree(release, ignore_errors=True)
        raise
    _prune(site_root, keep)
    prune_shared(site_root)
    return release


def link_or_copy(source: str | os.PathLike, target: str | os.PathLike) -> str:
    """Hard-link ``source`` as ``target`` (no bytes written), or copy it where links fail.

    For files that are never changed after they are written (a forecast's GIS files):
    the release and the forecast folder then share one inode.
    """
    target = Path(target)
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed
        shutil.copyfile(source, target)
    return str(target)


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def share_unchanged(site_root: Path, release: Path) -> tuple[int, int]:
    """Hard-link each file of ``release`` to its content under ``site_root/shared``.

    Returns ``(files, bytes)`` that were already there (now shared, not stored again).
    A file system without hard links leaves the release as it is.
    """
    store = Path(site_root) / SHARED
    store.mkdir(exist_ok=True)
    shared_files = shared_bytes = 0
    for path in sorted(Path(release).rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        size = path.stat().st_size
        if size < SHARE_MIN_BYTES:
            continue
        kept = store / _digest(path)
        try:
            if kept.exists() and kept.stat().st_size == size:
                tmp = path.with_name(f".{path.name}.link-{uuid.uuid4().hex[:8]}")
                os.link(kept, tmp)
                os.replace(tmp, path)  # the same content, now one inode with the others
                shared_files += 1
                shared_bytes += size
            else:
                os.link(path, kept)
        except OSError:  # e.g. a file system without hard links: keep the copy
            continue
    return shared_files, shared_bytes


def prune_shared(site_root: Path) -> int:
    """Remove shared contents no release links any more; returns how many."""
    store = Path(site_root) / SHARED
    removed = 0
    for kept in store.glob("*") if store.is_dir() else []:
        if kept.is_file() and kept.stat().st_nlink <= 1:
            kept.unlink(missing_ok=True)
            removed += 1
    return removed


def rollback(site_root: Path, to: Path | None = None) -> Path:
    """Point ``current`` at the newest complete release before the live one (or ``to``).

    Raises
    ------
    PublishError
        If nothing is published, there is no older complete release to go back to, or
        ``to`` is not a complete release (a killed publish's half-built folder).
    """
    site_root = Path(site_root)
    live = current_release(site_root)
    if live is None:
        raise PublishError(f"{site_root}: nothing published yet, nothing to roll back")
    if to is not None:
        target = Path(to) if Path(to).is_absolute() else site_root / RELEASES / to
        if not is_complete(target):
            raise PublishError(f"{target}: not a complete release (no {COMPLETE} marker: a "
                               "killed or failed publish); refusing to put it live")
        _switch(site_root, target)
        return target
    older = [r for r in _releases(site_root)
             if r.resolve().name < live.name and is_complete(r)]
    if not older:
        raise PublishError(
            f"{site_root}: {live.name} is the oldest kept release (complete ones only); "
            "nothing to roll back to"
        )
    target = older[-1]
    _switch(site_root, target)
    return target
