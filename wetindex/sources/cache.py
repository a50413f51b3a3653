"""A download cache addressed by content hash, with a provenance record per request.

Layout under the cache folder::

    objects/<aa>/<sha256>      the bytes of a response, named by their SHA-256
    requests/<key>.json        one provenance record per request: URL without
                               secrets, parameters, time fetched, licence, checksum

The request key is the SHA-256 of the method, URL, non-secret parameters and body,
so a repeat fetch of the same window is served from the cache, and identical answers
to different requests are stored once. Secrets are never part of a key or record.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from wetindex.atomicdir import write_bytes


@dataclass(frozen=True)
class Provenance:
    """Where one cached response came from."""

    source: str
    method: str
    url: str
    params: dict[str, str]
    fetched_at: str
    licence: str
    checksum: str
    size: int
    content_type: str = ""
    body: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def request_key(method: str, url: str, params: dict[str, Any] | None, body: Any = None) -> str:
    """Stable SHA-256 of a request's public parts."""
    canonical = json.dumps(
        {"method": method.upper(), "url": url,
         "params": sorted((str(k), str(v)) for k, v in (params or {}).items()),
         "body": body}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    write_bytes(path, data, mode=0o600)  # owner-only, as the cache files always were


def _file_sha256(path: Path, chunk_bytes: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk_bytes):
            digest.update(block)
    return digest.hexdigest()


class ResponseCache:
    """Content-hash cache of responses (see module docstring).

    Parameters
    ----------
    root : Path
        Cache folder (created when needed).
    offline : bool
        Serve only from the cache; a miss raises
        :class:`~wetindex.sources.errors.OfflineMissError` naming the request.
    """

    def __init__(self, root: Path, offline: bool = False):
        self.root = Path(root)
        self.offline = offline

    def _record_path(self, key: str) -> Path:
        return self.root / "requests" / f"{key}.json"

    def object_path(self, checksum: str) -> Path:
        """Path of a cached object (to open large files, e.g. NetCDF, in place)."""
        return self._object_path(checksum)

    def _object_path(self, checksum: str) -> Path:
        return self.root / "objects" / checksum[:2] / checksum

    def lookup(self, key: str) -> tuple[bytes, Provenance] | None:
        """The cached content and record of a request key, or ``None``.

        A record whose object is missing or does not match its checksum counts as a
        miss, so a damaged cache is refetched rather than trusted.
        """
        record = self._record_path(key)
        if not record.exists():
            return None
        prov = Provenance(**json.loads(record.read_text(encoding="utf-8")))
        obj = self._object_path(prov.checksum)
        if not obj.exists():
            return None
        content = obj.read_bytes()
        if hashlib.sha256(content).hexdigest() != prov.checksum:
            return None
        os.utime(record)              # last use, for prune()
        return content, prov

    def store(self, key: str, content: bytes, *, source: str, method: str, url: str,
              params: dict[str, Any] | None, licence: str, content_type: str = "",
              body: Any = None, extra: dict[str, Any] | None = None) -> Provenance:
        """Store ``content`` and its provenance record; return the record."""
        checksum = hashlib.sha256(content).hexdigest()
        obj = self._object_path(checksum)
        if not obj.exists():
            _atomic_write(obj, content)
        prov = Provenance(
            source=source, method=method.upper(), url=url,
            params={str(k): str(v) for k, v in (params or {}).items()},
            fetched_at=pd.Timestamp.now(tz="UTC").isoformat(), licence=licence,
            checksum=checksum, size=len(content), content_type=content_type, body=body,
            extra=dict(extra or {}))
        _atomic_write(self._record_path(key),
                      json.dumps(prov.to_dict(), indent=1, ensure_ascii=False).encode())
        return prov

    def lookup_file(self, key: str) -> tuple[Path, Provenance] | None:
        """The cached object's path and record of a request key, or ``None``.

        For large downloads: the checksum is verified in chunks (never the whole
        file in memory); a damaged object counts as a miss.
        """
        record = self._record_path(key)
        if not record.exists():
            return None
        prov = Provenance(**json.loads(record.read_text(encoding="utf-8")))
        obj = self._object_path(prov.checksum)
        if not obj.exists() or obj.stat().st_size != prov.size or \
                _file_sha256(obj) != prov.checksum:
            return None
        os.utime(record)
        return obj, prov

    def store_file(self, key: str, path: Path, *, source: str, url: str, licence: str,
                   method: str = "GET", params: dict[str, Any] | None = None,
                   content_type: str = "", extra: dict[str, Any] | None = None) -> Provenance:
        """Move the downloaded file ``path`` into the cache under ``key`` (hashed in
        chunks, never whole in memory); its record."""
        path = Path(path)
        checksum = _file_sha256(path)
        obj = self._object_path(checksum)
        obj.parent.mkdir(parents=True, exist_ok=True)
        size = path.stat().st_size
        if obj.exists():
            path.unlink()
        else:
            os.replace(path, obj)
        prov = Provenance(
            source=source, method=method.upper(), url=url,
            params={str(k): str(v) for k, v in (params or {}).items()},
            fetched_at=pd.Timestamp.now(tz="UTC").isoformat(), licence=licence,
            checksum=checksum, size=size, content_type=content_type, extra=dict(extra or {}))
        _atomic_write(self._record_path(key),
                      json.dumps(prov.to_dict(), indent=1, ensure_ascii=False).encode())
        return prov

    def records(self, source: str | None = None) -> list[Provenance]:
        """Every provenance record (of one source, if given)."""
        folder = self.root / "requests"
        out = []
        for path in sorted(folder.glob("*.json")) if folder.exists() else []:
            prov = Provenance(**json.loads(path.read_text(encoding="utf-8")))
            if source is None or prov.source == source:
                out.append(prov)
        return out

    def prune(self, max_age_days: float, now: float | None = None) -> int:
        """Delete records not used for ``max_age_days`` and objects no record points to.

        ``now`` is a POSIX time (default: the wall clock). Returns the number of records
        deleted.
        """
        cutoff = (time.time() if now is None else now) - max_age_days * 86_400
        folder = self.root / "requests"
        deleted = 0
        for path in folder.glob("*.json") if folder.exists() else []:
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                deleted += 1
        kept = {prov.checksum for prov in self.records()}
        for obj in (self.root / "objects").glob("*/*") if (self.root / "objects").exists() \
                else []:
            if obj.name not in kept:
                obj.unlink(missing_ok=True)
        return deleted
