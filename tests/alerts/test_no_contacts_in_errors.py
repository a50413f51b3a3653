"""Delivery errors are kept in the outbox (and shown by `wetindex status`): they must
name no contact. A real SMTP server on loopback refuses the recipient."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiosmtpd.controller import Controller

from wetindex.alerts.email import SmtpChannel
from wetindex.alerts.mailsink import free_port
from wetindex.alerts.outbox import Outbox, deliver_pending

ADDRESS = "formand@digelaget-klitten.dk"
NOW = datetime(2026, 11, 24, 6, tzinfo=UTC)


class Refusing:
    def __init__(self, answer: str):
        self.answer = answer

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return self.answer


@pytest.mark.parametrize(("answer", "status"), [("550 5.1.1 no such user", "failed"),
                                                ("450 4.2.1 mailbox busy", "retrying")])
def test_refused_recipient_error_names_no_address(tmp_path, answer, status):
    port = free_port()
    controller = Controller(Refusing(answer), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        outbox = Outbox(f"sqlite:///{tmp_path / 'o.db'}")
        outbox.enqueue("s:e:1", "email", ADDRESS,
                       f"To: {ADDRESS}\r\nSubject: x\r\n\r\nbody\r\n".encode(), now=NOW)
        channel = SmtpChannel("127.0.0.1", port, starttls=False, sender="w@example.dk")
        deliver_pending(outbox, {"email": channel}, now=NOW)
    finally:
        controller.stop()
    message = outbox.messages()[0]
    assert message.status == status
    assert "SMTP [" in message.last_error and answer[:3] in message.last_error
    assert "digelaget" not in message.last_error and "@" not in message.last_error
