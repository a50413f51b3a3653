"""Alert e-mails: rendering (plain text + HTML) and delivery over SMTP.

An e-mail carries only public warning content for the subscriber's own area: no other
subscriber, no internal data. Its Message-ID is derived from the outbox idempotency
key, so the rare duplicate after a crash mid-send is recognisable as the same message.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from html import escape

from wetindex.alerts.decision import AlertDecision
from wetindex.alerts.messages import (
    drivers_text,
    local_time_text,
    table,
    text,
    utc_time_text,
)
from wetindex.alerts.outbox import OutboxMessage, PermanentDeliveryError, utc_now
from wetindex.alerts.subscriptions import Subscription
from wetindex.warnings import conditions_text, window_text

MESSAGE_ID_DOMAIN = "alerts.wetindex"


def message_id(idempotency_key: str) -> str:
    """A stable RFC 5322 Message-ID for an outbox idempotency key."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{MESSAGE_ID_DOMAIN}>"


def _main_drivers(drivers: dict[str, float]) -> list[str]:
    ranked = sorted(drivers.items(), key=lambda kv: kv[1], reverse=True)
    return [name for name, share in ranked if share >= 0.2] or [n for n, _ in ranked[:1]]


def _instructions(lang: str, kind: str):
    """What to do, per level, for this kind of subscriber (a household by default)."""
    return table(lang, "instruction" if kind == "household" else f"instruction_{kind}")


def _paragraphs(decision: AlertDecision, lang: str, kind: str = "household"
                ) -> tuple[str, list[str], str | None]:
    """Subject, body paragraphs and the instruction, in ``lang``."""
    levels, titles = table(lang, "level_name"), table(lang, "level_title")
    values = {
        "place": decision.place,
        "area_name": decision.area_name or "-",
        "level_name": levels[decision.level],
        "level_title": titles[decision.level],
        "previous_level_name": levels[decision.previous_level],
        "probability": f"{round(100 * decision.probability):d}",
        "drivers": drivers_text(lang, _main_drivers(decision.drivers)),
        "issue_local": local_time_text(decision.issue_time, lang),
        "issue_utc": utc_time_text(decision.issue_time),
    }
    if decision.onset is not None:
        # level, from, earlier levels, until: the same sentence as the site and CAP
        values["window"] = window_text(lang, decision)
    if decision.kind == "all_clear":
        subject = text(lang, "subject_all_clear", **values)
        lines = [text(lang, "email_what_all_clear", **values), text(lang, "email_where", **values)]
        lines.append(text(lang, "email_issued", **values))
        return subject, lines, _instructions(lang, kind)[0]
    key = "subject" if decision.kind == "alert" else "subject_update"
    what = "email_what" if decision.kind == "alert" else "email_what_update"
    lines = [
        text(lang, what, **values),
        text(lang, "email_where", **values),
        *([text(lang, "email_when", **values)] if "window" in values else []),
        text(lang, "email_likely", **values),
    ]
    if decision.drivers:
        lines.append(text(lang, "email_drivers", **values))
    physical = conditions_text(lang, decision.conditions)  # as in the CAP description
    if physical:
        lines.append(physical)
    lines.append(text(lang, "email_issued", **values))
    return text(lang, key, **values), lines, _instructions(lang, kind)[decision.level]


def render_email(
    decision: AlertDecision,
    subscription: Subscription,
    *,
    site_url: str,
    unsubscribe_url: str,
    sender: str | None = None,
    now: datetime | None = None,
) -> EmailMessage:
    """The alert e-mail for one decision, in the subscriber's language.

    Plain text with an HTML alternative; subject with level and place; body with what,
    where, when (Danish local time and UTC), how likely, drivers, what to do and a link
    to the site; ``List-Unsubscribe`` and ``List-Unsubscribe-Post`` (RFC 8058 one-click).
    ``From`` is set here if ``sender`` is given, else by the channel.
    """
    lang = subscription.language
    subject, lines, instruction = _paragraphs(decision, lang, subscription.kind)
    todo = text(lang, "email_todo")
    footer = [
        f"{text(lang, 'email_more')} {site_url}",
        text(lang, "email_why", place=subscription.name),
        f"{text(lang, 'email_unsubscribe')} {unsubscribe_url}",
    ]
    plain = "\n".join(lines) + f"\n\n{todo}\n{instruction}\n\n" + "\n".join(footer) + "\n"
    colour = {0: "#2e7d32", 1: "#f9c80e", 2: "#f28c28", 3: "#d7263d"}[decision.level]
    html = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{escape(subject)}</title></head><body>"
        f'<h1 style="border-left:12px solid {colour};padding-left:8px">{escape(subject)}</h1>'
        + "".join(f"<p>{escape(line)}</p>" for line in lines)
        + f"<h2>{escape(todo)}</h2><p>{escape(instruction or '')}</p>"
        + f'<p><a href="{escape(site_url)}">{escape(text(lang, "email_more"))}</a></p>'
        + f"<p><small>{escape(footer[1])} "
        + f'<a href="{escape(unsubscribe_url)}">{escape(text(lang, "email_unsubscribe"))}</a>'
        + "</small></p></body></html>"
    )
    message = EmailMessage()
    message["Subject"] = subject
    if sender:
        message["From"] = sender
    if subscription.email:
        message["To"] = subscription.email
    message["Date"] = format_datetime(now or utc_now())
    message["Message-ID"] = message_id(decision.idempotency_key)
    message["Auto-Submitted"] = "auto-generated"
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(plain)
    message.add_alternative(html, subtype="html")
    message["Content-Language"] = lang  # after the content: set_content clears Content-*
    return message


class SmtpChannel:
    """Send e-mails over SMTP, with STARTTLS and certificate verification by default.

    Parameters
    ----------
    host, port : str, int
    starttls : bool
        Upgrade the connection with STARTTLS.
    implicit_tls : bool
        Speak TLS from the first byte (SMTPS, port 465) instead of STARTTLS. A password
        is sent only over one of the two.
    username, password : str, optional
        SMTP login; the caller reads them from the environment, never from config files.
    sender : str
        Envelope and ``From`` address.
    sender_name : str, optional
        Display name in ``From``.
    reply_to : str, optional
        ``Reply-To`` of every message.
    timeout : float
        Seconds per network operation.
    ssl_context : ssl.SSLContext, optional
        Default: :func:`ssl.create_default_context` (verifies certificate and host name).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        starttls: bool = True,
        implicit_tls: bool = False,
        username: str | None = None,
        password: str | None = None,
        sender: str,
        sender_name: str | None = None,
        reply_to: str | None = None,
        timeout: float = 30,
        ssl_context: ssl.SSLContext | None = None,
    ):
        if (username is None) != (password is None):
            raise ValueError("SmtpChannel: give both username and password, or neither")
        if implicit_tls and starttls:
            raise ValueError("SmtpChannel: choose STARTTLS or implicit TLS, not both")
        if username is not None and not (starttls or implicit_tls):
            raise ValueError("SmtpChannel: refusing to send a password without TLS "
                             "(starttls=True or implicit_tls=True)")
        self.host, self.port, self.starttls = host, port, starttls
        self.implicit_tls = implicit_tls
        self.sender_name, self.reply_to = sender_name, reply_to
        self.username, self._password = username, password
        self.sender, self.timeout = sender, timeout
        self.ssl_context = ssl_context

    def __repr__(self) -> str:  # never show the password
        return (f"SmtpChannel({self.host}:{self.port}, starttls={self.starttls}, "
                f"implicit_tls={self.implicit_tls}, user={self.username})")

    def send(self, message: EmailMessage) -> None:
        """Hand one message to the server; returns only once the server accepted it.

        Raises
        ------
        PermanentDeliveryError
            The server refused the recipient with a 5xx answer (retrying will not help).
        smtplib.SMTPException, OSError
            Anything else (server down, timeout, 4xx): the outbox retries.
        """
        if "From" not in message:
            message["From"] = formataddr((self.sender_name, self.sender)) \
                if self.sender_name else self.sender
        if self.reply_to and "Reply-To" not in message:
            message["Reply-To"] = self.reply_to
        context = self.ssl_context or ssl.create_default_context()
        if self.implicit_tls:
            connect = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                       context=context)
        else:
            connect = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        smtp = connect
        try:
            smtp.ehlo()
            if self.starttls:
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.username is not None:
                smtp.login(self.username, self._password or "")
            refused = smtp.send_message(message, from_addr=self.sender)
        except smtplib.SMTPRecipientsRefused as exc:
            # the outbox keeps the error text: codes only, never the address
            codes = [code for code, _ in exc.recipients.values()]
            if all(500 <= code < 600 for code in codes):
                raise PermanentDeliveryError(f"recipient refused: SMTP {codes}") from None
            raise ConnectionError(f"recipient temporarily refused: SMTP {codes}") from None
        except smtplib.SMTPDataError as exc:  # the relay refused the message itself
            if 500 <= exc.smtp_code < 600:
                raise PermanentDeliveryError(f"message refused: SMTP {exc.smtp_code}") from None
            raise ConnectionError(f"message temporarily refused: SMTP {exc.smtp_code}") from None
        finally:
            # Once the relay has said 250 the message is its; the outbox records that
            # next. Waiting for QUIT's answer first would widen the window in which a
            # crash sends the message twice, so QUIT is sent but its answer not awaited.
            try:
                smtp.sock and smtp.send(b"QUIT\r\n")
            except (OSError, smtplib.SMTPException):
                pass
            smtp.close()
        if refused:
            codes = [code for code, _ in refused.values()]
            raise PermanentDeliveryError(f"recipient(s) refused: SMTP {codes}")

    def deliver(self, message: OutboxMessage) -> None:
        """Outbox :class:`~wetindex.alerts.outbox.Channel` interface."""
        self.send(message_from_bytes(message.body, policy=policy.default))  # type: ignore[arg-type]
