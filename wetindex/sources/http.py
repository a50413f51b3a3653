"""The HTTP client of every connector: timeouts, retries with backoff, a clear User-Agent.

Retries happen on connection errors, 429 and 5xx. A ``Retry-After`` header (seconds
or an HTTP date) is honoured, capped at :attr:`HttpClient.max_wait_s`; otherwise the
wait doubles from :attr:`HttpClient.backoff_s`. The sleep function and the httpx
transport are injectable so tests run without network and without waiting.

Secrets (tokens, keys) are passed as ``secret_params``/``secret_headers``: they are
sent, but never appear in error messages, logs, cache keys or provenance records.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin

import httpx

from wetindex import __version__ as _version
from wetindex.sources.errors import SourceError

log = logging.getLogger(__name__)

USER_AGENT = (f"wetindex/{_version} (open-source local flood warnings; "
              "https://github.com/wetindex/wetindex)")
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


def describe_request(method: str, url: str, params: Mapping[str, Any] | None = None) -> str:
    """``METHOD url?query`` for messages and provenance (pass only non-secret params)."""
    query = urlencode(sorted((k, str(v)) for k, v in (params or {}).items()), safe=",:/()")
    return f"{method} {url}" + (f"?{query}" if query else "")


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (delta seconds or HTTP date)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class HttpClient:
    """An httpx client with retries, backoff and ``Retry-After`` (see module docstring).

    Parameters
    ----------
    transport : httpx.BaseTransport, optional
        Injected transport (``httpx.MockTransport`` in tests).
    retries : int
        Attempts in total for one request (default 3).
    backoff_s : float
        First wait between attempts; doubles each time.
    max_wait_s : float
        Cap on any single wait, including one asked for by ``Retry-After``.
    timeout_s : float
        Connect/read timeout.
    sleep : callable
        ``sleep(seconds)``; injected in tests.
    """

    def __init__(self, transport: httpx.BaseTransport | None = None, *, retries: int = 3,
                 backoff_s: float = 1.0, max_wait_s: float = 120.0, timeout_s: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep):
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_wait_s = max_wait_s
        self.sleep = sleep
        self._client = httpx.Client(transport=transport, timeout=timeout_s,
                                    headers={"User-Agent": USER_AGENT}, follow_redirects=True)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, source: str, method: str, url: str, *,
                params: Mapping[str, Any] | None = None,
                secret_params: Mapping[str, str] | None = None,
                secret_headers: Mapping[str, str] | None = None,
                data: Mapping[str, Any] | None = None,
                json: Any = None) -> httpx.Response:
        """Send one request with retries; return the successful response.

        Raises
        ------
        SourceError
            After the last attempt failed, or at once on a 4xx other than 429.
        """
        shown = describe_request(method, url, params)
        all_params = {**(params or {}), **(secret_params or {})}
        last_problem = ""
        for attempt in range(1, self.retries + 1):
            wait = self.backoff_s * 2 ** (attempt - 1)
            try:
                response = self._client.request(
                    method, url, params=all_params or None, headers=dict(secret_headers or {}),
                    data=data, json=json)
            except httpx.TransportError as err:
                last_problem = f"no answer ({type(err).__name__})"
            else:
                if response.status_code < 400:
                    return response
                last_problem, asked = _retryable(source, shown, response)
                wait = asked if asked is not None else wait
            if attempt < self.retries:
                wait = min(wait, self.max_wait_s)
                log.info("%s: %s; retry %d/%d in %.1f s", source, last_problem, attempt,
                         self.retries - 1, wait)
                self.sleep(wait)
        raise SourceError(
            source, shown, f"{last_problem} after {self.retries} attempts",
            "the service is busy or down: try again later, or point the source's base_url "
            "in data_sources/ at a mirror")

    def download(self, source: str, url: str, dest: Path, *,
                 headers_for: Callable[[httpx.URL], Mapping[str, str] | None] | None = None,
                 max_redirects: int = 5, chunk_bytes: int = 1 << 20) -> httpx.Headers:
        """Stream ``url`` into the file ``dest`` (never whole in memory); its final headers.

        Redirects are followed here, not by httpx, so that ``headers_for(url)`` decides
        for every hop which secret headers go with it: httpx drops an
        ``Authorization`` header on a redirect to another host, which the Copernicus
        download host needs kept, while a token must never reach a host not trusted.
        Connection errors, 429 and 5xx are retried like :meth:`request`; a partly
        written file is removed before a retry and on failure.
        """
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shown = describe_request("GET", url)
        last_problem = ""
        for attempt in range(1, self.retries + 1):
            wait = self.backoff_s * 2 ** (attempt - 1)
            hop = httpx.URL(url)
            try:
                for _ in range(max_redirects + 1):
                    headers = dict((headers_for(hop) if headers_for else None) or {})
                    with self._client.stream("GET", hop, headers=headers,
                                             follow_redirects=False) as response:
                        if response.is_redirect:
                            location = response.headers.get("location", "")
                            hop = httpx.URL(urljoin(str(hop), location))
                            continue
                        if response.status_code >= 400:
                            response.read()
                            last_problem, asked = _retryable(source, shown, response)
                            wait = asked if asked is not None else wait
                            break
                        with open(dest, "wb") as out:
                            for chunk in response.iter_bytes(chunk_bytes):
                                out.write(chunk)
                        expected = response.headers.get("content-length")
                        if expected is not None and dest.stat().st_size != int(expected):
                            last_problem = (f"truncated download ({dest.stat().st_size} of "
                                            f"{expected} bytes)")
                            dest.unlink(missing_ok=True)
                            break
                        return response.headers
                else:
                    raise SourceError(source, shown, f"more than {max_redirects} redirects",
                                      "check the asset URL; the provider may have moved it")
            except httpx.TransportError as err:
                dest.unlink(missing_ok=True)
                last_problem = f"no answer ({type(err).__name__})"
            if attempt < self.retries:
                wait = min(wait, self.max_wait_s)
                log.info("%s: %s; retry %d/%d in %.1f s", source, last_problem, attempt,
                         self.retries - 1, wait)
                self.sleep(wait)
        dest.unlink(missing_ok=True)
        raise SourceError(
            source, shown, f"{last_problem} after {self.retries} attempts",
            "the service is busy or down: try again later")


    def stream_to(self, source: str, url: str, dest: Any, *,
                  params: Mapping[str, Any] | None = None,
                  secret_params: Mapping[str, str] | None = None,
                  secret_headers: Mapping[str, str] | None = None,
                  chunk_bytes: int = 1 << 20) -> str:
        """GET ``url`` into the file ``dest`` chunk by chunk (a large download never sits
        in memory), with the retries of :meth:`request`; return the content type."""
        shown = describe_request("GET", url, params)
        all_params = {**(params or {}), **(secret_params or {})}
        last_problem = ""
        for attempt in range(1, self.retries + 1):
            wait = self.backoff_s * 2 ** (attempt - 1)
            try:
                with self._client.stream("GET", url, params=all_params or None,
                                         headers=dict(secret_headers or {})) as response:
                    if response.status_code < 400:
                        with open(dest, "wb") as f:
                            for chunk in response.iter_bytes(chunk_bytes):
                                f.write(chunk)
                        return response.headers.get("content-type", "")
                    response.read()
                    last_problem, asked = _retryable(source, shown, response)
                    wait = asked if asked is not None else wait
            except httpx.TransportError as err:
                last_problem = f"no answer or cut off ({type(err).__name__})"
            if attempt < self.retries:
                self.sleep(min(wait, self.max_wait_s))
        raise SourceError(source, shown, f"{last_problem} after {self.retries} attempts",
                          "the service is busy or down: try again later")


def _retryable(source: str, shown: str, response: httpx.Response) -> tuple[str, float | None]:
    """An error answer worth retrying (429, 5xx): its problem and the wait it asks for.

    Any other 4xx raises :class:`SourceError` at once: a retry would get the same answer.
    """
    if response.status_code not in RETRY_STATUS:
        raise SourceError(source, shown, _status_problem(response),
                          _status_fix(response.status_code))
    return _status_problem(response), retry_after_seconds(response)


def _status_problem(response: httpx.Response) -> str:
    text = response.text[:200].replace("\n", " ").strip()
    return f"HTTP {response.status_code}" + (f" ({text})" if text else "")


def _status_fix(status: int) -> str:
    if status in (401, 403):
        return "the credential was refused: check the token/key set in the environment"
    if status == 404:
        return "the item does not exist at this URL: check the base_url in data_sources/ and " \
               "the request's parameters"
    return "check the request's parameters against the provider's documentation"
