"""Self-service subscriptions over HTTP (FastAPI), with double opt-in.

Endpoints (all answers JSON except the two small confirmation pages):

``POST /subscriptions``
    Sign up an e-mail address for an area and threshold. The subscriber is stored as
    *pending* and a confirmation link is mailed. The answer is always ``202`` with the
    same text, whether or not the address is already subscribed.
``GET|POST /confirm/{token}``
    ``GET`` shows a button (mail scanners that prefetch links must not confirm);
    ``POST`` activates the subscription.
``POST /unsubscribe``
    Asks for unsubscribe links by e-mail; always ``202`` with the same text, whether
    or not the address exists.
``GET|POST /unsubscribe/{token}``
    The link in every alert e-mail; ``POST`` is RFC 8058 one-click and deletes the
    subscriber completely. Always the same answer, so tokens cannot be probed.

Tokens travel only in the mails; the database keeps their SHA-256. Mails go out
through ``mailer`` as a background task after the answer, so answering takes the
same time whether a mail is sent or not. Unconfirmed sign-ups are removed after
72 h by :func:`purge_unconfirmed` (run by housekeeping).

Rate limiting: an in-process token bucket per client IP (:class:`RateLimiter`) on
every endpoint that takes a token or an address; over the limit answers ``429`` with
``Retry-After``. The client IP is the connection's peer, or, only when that peer is
one of ``trusted_proxies``, the last address in ``X-Forwarded-For`` that is not a
trusted proxy (:func:`client_address`): a made-up header from anyone else is
ignored. A second bucket per *target* e-mail address (its blind index) caps the
mails one address receives, however many clients ask; over that limit the answer is
the same ``202`` and no mail goes out. The limits are per process: run one worker.

One person, one place: a sign-up for an address, area and shape already subscribed
creates nothing (a pending one gets a fresh confirmation link instead).
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from email.message import EmailMessage
from html import escape
from typing import Literal

from fastapi import BackgroundTasks, Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wetindex.alerts.outbox import utc_now
from wetindex.alerts.subscribers import LEVELS, SubscriberSpec, SubscriberStore, spec_problem
from wetindex.alerts.subscriptions import AreaSpec

ACCEPTED = {"detail": "If the address can receive e-mail, we have sent it a link. "
                      "Follow the link to finish. / Hvis adressen kan modtage e-mail, har vi "
                      "sendt den et link. Følg linket for at gøre det færdigt."}
UNSUBSCRIBED = "Afmeldt og slettet. / Unsubscribed and deleted."


class RateLimiter:
    """A token bucket per key (client IP): ``capacity`` requests, refilled at ``rate``/s."""

    def __init__(self, capacity: int = 5, per_seconds: float = 60.0,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000):
        self.capacity, self.rate, self.clock = capacity, capacity / per_seconds, clock
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 if a request may go now, else the seconds until it may."""
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.get(key, (float(self.capacity), now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if len(self._buckets) >= self.max_keys:  # bounded memory under a flood of IPs
                self._buckets = {k: v for k, v in self._buckets.items()
                                 if v[0] + (now - v[1]) * self.rate < self.capacity}
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate


def client_address(peer: str | None, forwarded_for: str | None,
                   trusted_proxies: Sequence[str]) -> str:
    """The client's address: ``X-Forwarded-For`` is believed only from a trusted proxy.

    Walking the header from the right (the address the nearest proxy saw), trusted
    proxies are skipped; the first other address is the client.
    """
    networks = [ipaddress.ip_network(p, strict=False) for p in trusted_proxies]

    def trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in net for net in networks)

    if not peer:
        return "unknown"
    if not forwarded_for or not trusted(peer):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage in the header: count it against the proxy's peer
    return peer


class SignUp(BaseModel):
    """A self-service sign-up (e-mail only: the confirmation proves the address)."""

    model_config = ConfigDict(extra="forbid")

    area: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=200, description="your place, used in alerts")
    email: str = Field(max_length=254)
    language: Literal["da", "en"] = "da"
    level: Literal["yellow", "orange", "red"] = "yellow"
    within_h: int = Field(default=48, ge=1, le=48)
    shape: AreaSpec


class UnsubscribeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254)


_TEXTS = {
    "da": {
        "confirm_subject": "Bekræft dit abonnement på oversvømmelsesvarsler: {name}",
        "confirm_body": "Nogen (forhåbentlig dig) har bedt om varsler om oversvømmelse for "
                        "{name}.\n\nBekræft her:\n{link}\n\nHvis det ikke var dig, så gør "
                        "ingenting: tilmeldingen slettes efter 72 timer.\n",
        "unsub_subject": "Afmeld oversvømmelsesvarsler",
        "unsub_body": "Følg et link for at afmelde og slette abonnementet:\n{links}\n",
    },
    "en": {
        "confirm_subject": "Confirm your flood warning subscription: {name}",
        "confirm_body": "Someone (hopefully you) asked for flood warnings for {name}.\n\n"
                        "Confirm here:\n{link}\n\nIf it was not you, do nothing: the sign-up "
                        "is deleted after 72 hours.\n",
        "unsub_subject": "Unsubscribe from flood warnings",
        "unsub_body": "Follow a link to unsubscribe and delete the subscription:\n{links}\n",
    },
}


def _mail(to: str, subject: str, body: str, language: str) -> EmailMessage:
    message = EmailMessage()
    message["To"], message["Subject"] = to, subject
    message.set_content(body)
    message["Content-Language"] = language
    return message


def _page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"</head><body><main><h1>{escape(title)}</h1>{body}</main></body></html>",
        status_code=status_code)


def create_app(
    store: SubscriberStore,
    *,
    crs: str,
    public_url: str,
    mailer: Callable[[EmailMessage], None],
    areas: set[str] | None = None,
    limiter: RateLimiter | None = None,
    now: Callable[[], datetime] = utc_now,
    trusted_proxies: Sequence[str] = (),
    target_limiter: RateLimiter | None = None,
) -> FastAPI:
    """The self-service app.

    Parameters
    ----------
    store : SubscriberStore
    crs : str
        The area grid's CRS: geometries are stored in it.
    public_url : str
        Where this API is reachable by subscribers (for the links in mails).
    mailer : callable
        Sends one :class:`~email.message.EmailMessage`, e.g. ``SmtpChannel(...).send``.
    areas : set of str, optional
        Area names that may be subscribed to (default: any).
    limiter : RateLimiter, optional
        Default: 5 requests per minute per client IP.
    trusted_proxies : sequence of str
        Addresses/networks of the reverse proxies whose ``X-Forwarded-For`` is believed.
    target_limiter : RateLimiter, optional
        Mails per target address; default 3 per day.
    """
    app = FastAPI(title="wetindex subscriptions", docs_url=None, redoc_url=None)
    limiter = limiter or RateLimiter()
    target_limiter = target_limiter or RateLimiter(capacity=3, per_seconds=86_400)
    base = public_url.rstrip("/")
    proxies = tuple(trusted_proxies)

    def rate_limited(request: Request) -> None:
        peer = request.client.host if request.client else None
        wait = limiter.take(client_address(peer, request.headers.get("x-forwarded-for"),
                                           proxies))
        if wait > 0:
            raise HTTPException(429, "too many requests; try again later",
                                headers={"Retry-After": str(int(wait) + 1)})

    def send_quietly(message: EmailMessage) -> None:
        # a failed confirmation mail must not reveal anything; the user can sign up again
        try:
            mailer(message)
        except Exception:
            app.state.mail_failures += 1

    app.state.mail_failures = 0

    @app.post("/subscriptions", status_code=202, dependencies=[Depends(rate_limited)])
    def sign_up(body: SignUp, background: BackgroundTasks) -> dict:
        if areas is not None and body.area not in areas:
            raise HTTPException(422, f"unknown area {body.area!r}; one of {sorted(areas)}")
        try:
            spec = SubscriberSpec(area=body.area, name=body.name, email=body.email,
                                  language=body.language, shape=body.shape,
                                  min_level=LEVELS[body.level], max_lead_h=body.within_h)
            if target_limiter.take(store.cipher.blind_index(body.email)) > 0:
                return ACCEPTED  # this address has had enough mail today; say nothing
            subscriber, token = store.sign_up(spec, crs, now=now())
        except ValidationError as exc:  # the fields SignUp leaves open (e.g. the address)
            raise HTTPException(422, spec_problem(exc, "sign-up")) from None
        except ValueError as exc:  # the shape (not valid, empty)
            raise HTTPException(422, str(exc)) from None
        if token is None:
            return ACCEPTED  # already subscribed to this place: nothing new, nothing sent
        t = _TEXTS[body.language]
        background.add_task(send_quietly, _mail(
            subscriber.email or "", t["confirm_subject"].format(name=body.name),
            t["confirm_body"].format(name=body.name, link=f"{base}/confirm/{token}"),
            body.language))
        return ACCEPTED

    @app.get("/confirm/{token}", dependencies=[Depends(rate_limited)])
    def confirm_page(token: str) -> HTMLResponse:
        return _page("Bekræft / Confirm",
                     f"<form method='post' action='{escape(base)}/confirm/{escape(token)}'>"
                     "<button type='submit'>Bekræft abonnement / Confirm subscription"
                     "</button></form>")

    @app.post("/confirm/{token}", dependencies=[Depends(rate_limited)])
    def confirm(token: str) -> HTMLResponse:
        subscriber = store.confirm(token, now=now())
        if subscriber is None:
            return _page("Ugyldigt link / Invalid link",
                         "<p>Linket er ugyldigt eller udløbet. / The link is invalid or "
                         "has expired.</p>", 404)
        return _page("Bekræftet / Confirmed",
                     f"<p>{escape(subscriber.name)}: du får nu varsler. / you will now get "
                     "warnings.</p>")

    @app.post("/unsubscribe", status_code=202, dependencies=[Depends(rate_limited)])
    def request_unsubscribe(body: UnsubscribeRequest, background: BackgroundTasks) -> dict:
        found = store.find_by_email(body.email)
        if found and target_limiter.take(store.cipher.blind_index(body.email)) == 0:
            lang = found[0].language
            links = "\n".join(f"{s.name}: {base}/unsubscribe/{store.unsubscribe_token(s.id)}"
                              for s in found)
            background.add_task(send_quietly, _mail(
                body.email, _TEXTS[lang]["unsub_subject"],
                _TEXTS[lang]["unsub_body"].format(links=links), lang))
        return ACCEPTED

    @app.get("/unsubscribe/{token}", dependencies=[Depends(rate_limited)])
    def unsubscribe_page(token: str) -> HTMLResponse:
        return _page("Afmeld / Unsubscribe",
                     f"<form method='post' action='{escape(base)}/unsubscribe/{escape(token)}'>"
                     "<input type='hidden' name='List-Unsubscribe' value='One-Click'>"
                     "<button type='submit'>Afmeld og slet / Unsubscribe and delete</button>"
                     "</form>")

    @app.post("/unsubscribe/{token}", dependencies=[Depends(rate_limited)])
    def unsubscribe(token: str, request: Request) -> Response:
        store.unsubscribe(token)  # the same answer either way: tokens cannot be probed
        if "text/html" in request.headers.get("accept", ""):  # a person, from the page
            return _page("Afmeldt / Unsubscribed", f"<p>{escape(UNSUBSCRIBED)}</p>")
        return JSONResponse({"detail": UNSUBSCRIBED})  # RFC 8058 one-click from a mail client

    return app


def purge_unconfirmed(store: SubscriberStore, now: datetime | None = None) -> int:
    """Housekeeping: delete sign-ups not confirmed within 72 h; returns how many."""
    return store.purge_unconfirmed(now or utc_now())
