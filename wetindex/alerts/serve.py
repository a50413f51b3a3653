"""``wetindex serve``: the sign-up API as a service, behind the site's reverse proxy.

The API answers under ``/api/`` of the citizen site's own origin, so the "Get alerts"
page calls it without any third-party request. A reverse proxy (nginx, Caddy) in
front of the static site passes ``/api/`` on, e.g. for nginx::

    location /api/ {
        proxy_pass http://127.0.0.1:8100/;   # alerts.serve.host / .port; strips /api/
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }

and ``alerts.serve.trusted_proxies`` lists the proxy's address, so the rate limit sees
the real client (``X-Forwarded-For`` from anyone else is ignored). Run one worker:
the rate limits live in the process.

``--site`` serves the published site at ``/`` and the API at ``/api/`` from one
process (the demo, tests; no proxy needed).

Confirmation mails go through the relay in ``alerts.smtp``; the demo without a relay
writes them to ``alerts/mail/`` through the loopback mail sink, like its alerts.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from wetindex.alerts.api import RateLimiter, create_app
from wetindex.alerts.area import alerts_folder, api_url, open_store
from wetindex.alerts.delivery import DeliveryConfigError, smtp_channel
from wetindex.alerts.email import SmtpChannel
from wetindex.alerts.mailsink import MailSink


def area_crs(ctx: Any) -> str:
    grid = ctx.config.grid
    return grid.crs if grid is not None else "EPSG:25832"


def confirmation_mailer(ctx: Any, stack: ExitStack):
    """Sends the API's mails: the configured relay, or (demo only) the loopback sink."""
    alerts = ctx.config.alerts
    if alerts.smtp is not None:
        return smtp_channel(alerts.smtp, alerts).send
    if ctx.config.source != "demo":
        raise DeliveryConfigError(
            f"area {ctx.config.name!r}: sign-up sends confirmation e-mails, but no SMTP relay "
            "is configured; add an alerts.smtp section (host, port, security, username)")

    sink = stack.enter_context(MailSink(alerts_folder(ctx) / "mail"))
    return SmtpChannel("127.0.0.1", sink.port, starttls=False, sender=alerts.sender,
                       sender_name=alerts.sender_name, reply_to=alerts.reply_to,
                       timeout=10).send


def build_app(ctx: Any, stack: ExitStack, *, with_site: bool = False, now: Any = None):
    """The sign-up API of an area (and, with ``with_site``, the site around it)."""
    serve = ctx.config.alerts.serve
    kwargs = {"now": now} if now is not None else {}
    api = create_app(
        open_store(ctx), crs=area_crs(ctx), public_url=api_url(ctx),
        mailer=confirmation_mailer(ctx, stack), areas={ctx.config.name},
        limiter=RateLimiter(capacity=serve.client_per_minute, per_seconds=60),
        target_limiter=RateLimiter(capacity=serve.target_per_day, per_seconds=86_400),
        trusted_proxies=serve.trusted_proxies, **kwargs)
    if not with_site:
        return api
    from starlette.applications import Starlette  # noqa: PLC0415 - the web server's modules load only for 'wetindex serve'
    from starlette.routing import Mount  # noqa: PLC0415 - the web server's modules load only for 'wetindex serve'
    from starlette.staticfiles import StaticFiles  # noqa: PLC0415 - the web server's modules load only for 'wetindex serve'

    site = ctx.area_dir / "site" / "current"
    if not site.exists():
        raise FileNotFoundError(f"{site}: no published site yet; run "
                                f"'wetindex run publish --area {ctx.config.name}' first")
    return Starlette(routes=[Mount("/api", app=api),
                             Mount("/", app=StaticFiles(directory=site, html=True))])


def serve(ctx: Any, *, host: str | None = None, port: int | None = None,
          with_site: bool = False) -> None:  # pragma: no cover - runs until stopped
    """Run the API with uvicorn until interrupted."""
    import uvicorn  # noqa: PLC0415 - the web server's modules load only for 'wetindex serve'

    config = ctx.config.alerts.serve
    with ExitStack() as stack:
        app = build_app(ctx, stack, with_site=with_site)
        # X-Forwarded-For is read by the API itself, from trusted proxies only
        uvicorn.run(app, host=host or config.host, port=port or config.port,
                    proxy_headers=False, workers=1, log_level="info")
