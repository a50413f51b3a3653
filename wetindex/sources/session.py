"""One source's requests: HTTP client + cache + catalog entry, with answer checks.

A :class:`SourceSession` is what every connector uses to talk to its provider. It
serves repeat requests from the cache, refuses to go to the network in offline mode
(naming the missing item), checks an answer before caching it (so a truncated file
is never stored), and follows OGC API ``links rel=next`` paging.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from wetindex.sources.cache import Provenance, ResponseCache, request_key
from wetindex.sources.catalog import SourceEntry
from wetindex.sources.errors import CredentialMissingError, OfflineMissError, SourceError
from wetindex.sources.http import HttpClient, describe_request

#: Largest number of pages followed for one query (a guard against a paging loop).
MAX_PAGES = 1000


@dataclass(frozen=True)
class Answer:
    """The bytes of one response and where they came from."""

    content: bytes
    provenance: Provenance
    from_cache: bool


class SourceSession:
    """Requests of one catalog source (see module docstring).

    Parameters
    ----------
    entry : SourceEntry
        The catalog entry (base URL, licence, credentials).
    http : HttpClient
        The client (inject a mock transport in tests).
    cache : ResponseCache
        The download cache; ``cache.offline`` switches offline mode on.
    on_answer : callable, optional
        Called with each :class:`Answer` (for a progress bar).
    """

    def __init__(self, entry: SourceEntry, http: HttpClient, cache: ResponseCache,
                 on_answer: Callable[[Answer], None] | None = None):
        self.entry = entry
        self.http = http
        self.cache = cache
        self.on_answer = on_answer
        self.answers: list[Answer] = []
        #: go to the network even when the cache has the answer (the open tail of a
        #: time series, a "latest" listing); offline mode still serves the cache
        self.refresh = False
        #: parts of the cache key that are not sent (e.g. ``as_of`` of a "latest"
        #: listing), so an untimed query is cached per time it answered for
        self.key_extra: dict[str, Any] = {}

    @property
    def source(self) -> str:
        return self.entry.id

    def credential(self, variable: str, purpose: str) -> str:
        """A secret from the environment; a missing one names the variable."""
        value = os.environ.get(variable, "").strip()
        if not value:
            raise CredentialMissingError(self.source, variable, purpose)
        return value

    def fetch(self, url: str, params: dict[str, Any] | None = None, *, method: str = "GET",
              secret_params: dict[str, str] | None = None,
              secret_headers: dict[str, str] | None = None, json_body: Any = None,
              check: Callable[[bytes, str], None] | None = None) -> Answer:
        """One response, from the cache when there, else from the network.

        ``check(content, request)`` raises :class:`SourceError` for an unusable answer;
        it runs before the answer is cached, and again on cached content.
        """
        params = {k: v for k, v in (params or {}).items() if v is not None}
        shown = describe_request(method, url, params)
        key = request_key(method, url, {**params, **{f"~{k}": v for k, v in
                                                     self.key_extra.items()}}, json_body)
        hit = None if (self.refresh and not self.cache.offline) else self.cache.lookup(key)
        if hit is not None:
            content, prov = hit
            if check is not None:
                check(content, shown)
            answer = Answer(content, prov, from_cache=True)
        else:
            if self.cache.offline:
                raise OfflineMissError(self.source, shown, str(self.cache.root))
            response = self.http.request(self.source, method, url, params=params,
                                         secret_params=secret_params,
                                         secret_headers=secret_headers, json=json_body)
            content = response.content
            if check is not None:
                check(content, shown)
            prov = self.cache.store(
                key, content, source=self.source, method=method, url=url, params=params,
                licence=self.entry.licence,
                content_type=response.headers.get("content-type", ""), body=json_body)
            answer = Answer(content, prov, from_cache=False)
        self.answers.append(answer)
        if self.on_answer is not None:
            self.on_answer(answer)
        return answer

    def download(self, url: str, params: dict[str, Any] | None = None, *,
                 secret_params: dict[str, str] | None = None,
                 secret_headers: dict[str, str] | None = None,
                 check_head: Callable[[bytes, str], None] | None = None) -> Path:
        """A large file streamed to the cache (never held in memory); its cached path.

        ``check_head(first_bytes, request)`` rejects an unusable file before it is kept.
        """
        params = {k: v for k, v in (params or {}).items() if v is not None}
        shown = describe_request("GET", url, params)
        key = request_key("GET", url, params)
        hit = None if (self.refresh and not self.cache.offline) else \
            self.cache.lookup_file(key)
        if hit is not None:
            self._answered(Answer(b"", hit[1], from_cache=True))
            return hit[0]
        if self.cache.offline:
            raise OfflineMissError(self.source, shown, str(self.cache.root))
        (self.cache.root / "objects").mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.cache.root / "objects", prefix=".download-")
        os.close(fd)
        try:
            content_type = self.http.stream_to(self.source, url, tmp, params=params,
                                               secret_params=secret_params,
                                               secret_headers=secret_headers)
            if check_head is not None:
                with open(tmp, "rb") as f:
                    check_head(f.read(64), shown)
            prov = self.cache.store_file(key, tmp, source=self.source, method="GET", url=url,
                                         params=params, licence=self.entry.licence,
                                         content_type=content_type)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        self._answered(Answer(b"", prov, from_cache=False))  # content stays on disk
        return self.cache.object_path(prov.checksum)

    def _answered(self, answer: Answer) -> None:
        self.answers.append(answer)
        if self.on_answer is not None:
            self.on_answer(answer)

    def fetch_json(self, url: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        """A JSON answer, parsed; a truncated or non-JSON body is one clear error."""
        answer = self.fetch(url, params, check=self._check_json, **kw)
        return json.loads(answer.content)

    def _check_json(self, content: bytes, request: str) -> None:
        try:
            json.loads(content)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise SourceError(
                self.source, request,
                f"the answer is not complete JSON ({err.msg} at byte {err.pos} of "
                f"{len(content)}): truncated or an error page",
                "fetch again; if it persists the provider's API may have changed — compare "
                "with its documentation") from None

    def feature_pages(self, url: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Features of an OGC API Features query, following ``links rel=next``.

        The next link's query is re-applied to ``url``, so paging stays on the
        catalog's host even when the provider's links name another (DMI's do).
        """
        page_params = dict(params)
        for _ in range(MAX_PAGES):
            doc = self.fetch_json(url, page_params)
            shown = describe_request("GET", url, page_params)
            if not isinstance(doc, dict) or "features" not in doc:
                raise SourceError(
                    self.source, shown, "the answer is not a GeoJSON FeatureCollection "
                    f"(keys: {sorted(doc)[:8] if isinstance(doc, dict) else type(doc).__name__})",
                    "the API may have changed: compare with the provider's documentation")
            yield from doc["features"]
            nxt = next((link.get("href") for link in doc.get("links", [])
                        if link.get("rel") == "next"), None)
            if not nxt or not doc["features"]:
                return
            # the link's query wins; filters it leaves out are kept from the first request
            page_params = {**params, **dict(parse_qsl(urlsplit(nxt).query))}
        raise SourceError(self.source, describe_request("GET", url, params),
                          f"more than {MAX_PAGES} pages", "ask for a shorter time window")
