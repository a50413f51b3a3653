"""The outbox: unique keys, claims, backoff, max attempts, permanent failures, stats."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alert_fixtures import ISSUE

from wetindex.alerts.outbox import Outbox, PermanentDeliveryError, deliver_pending


class FakeChannel:
    """Fails ``failures`` times, then accepts; records what it accepted."""

    def __init__(self, failures: int = 0, error: Exception | None = None):
        self.failures, self.error = failures, error or ConnectionRefusedError("server down")
        self.accepted: list[str] = []

    def deliver(self, message):
        if self.failures > 0:
            self.failures -= 1
            raise self.error
        self.accepted.append(message.idempotency_key)


@pytest.fixture
def outbox(tmp_path):
    return Outbox(f"sqlite:///{tmp_path / 'outbox.db'}", max_attempts=4,
                  base_delay=timedelta(minutes=1), max_delay=timedelta(minutes=3))


def test_duplicate_enqueue_is_a_no_op(outbox):
    assert outbox.enqueue("s:e:1", "email", "a@example.dk", b"x", now=ISSUE)
    assert not outbox.enqueue("s:e:1", "email", "a@example.dk", b"other", now=ISSUE)
    assert outbox.enqueue("s:e:1", "sms", None, b"x", now=ISSUE)  # another channel, own row
    assert [m.body for m in outbox.messages()] == [b"x", b"x"]
    assert outbox.stats() == {"pending": 2, "delivered": 0, "failed": 0, "retrying": 0}


def test_retry_with_exponential_capped_backoff_then_failed(outbox):
    outbox.enqueue("s:e:1", "email", "a@example.dk", b"x", now=ISSUE)
    channel = FakeChannel(failures=10)
    now, waits = ISSUE, []
    for _ in range(4):
        report = deliver_pending(outbox, {"email": channel}, now=now)
        (message,) = outbox.messages()
        waits.append(message.next_attempt_at - now)
        assert outbox.pending(now) == []  # not due again before its backoff
        now = message.next_attempt_at
        if message.status == "failed":
            break
    assert waits[:3] == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=3)]
    assert message.status == "failed" and message.attempts == 4
    assert "server down" in message.last_error and report.failed == [message.id]
    assert outbox.stats() == {"pending": 0, "delivered": 0, "failed": 1, "retrying": 0}
    assert channel.accepted == []


def test_recovers_after_failures_and_delivers_once(outbox):
    outbox.enqueue("s:e:1", "email", "a@example.dk", b"x", now=ISSUE)
    channel = FakeChannel(failures=2)
    now = ISSUE
    for _ in range(5):
        deliver_pending(outbox, {"email": channel}, now=now)
        now += timedelta(hours=1)
    assert channel.accepted == ["s:e:1"]
    assert outbox.stats() == {"pending": 0, "delivered": 1, "failed": 0, "retrying": 0}


def test_permanent_error_fails_at_once(outbox):
    outbox.enqueue("s:e:1", "email", "nobody@example.dk", b"x", now=ISSUE)
    report = deliver_pending(
        outbox, {"email": FakeChannel(1, PermanentDeliveryError("550 no such user"))}, now=ISSUE)
    assert report.failed and outbox.stats()["failed"] == 1


def test_message_without_channel_stays_pending(outbox):
    outbox.enqueue("s:e:1", "sms", None, b"x", now=ISSUE)
    report = deliver_pending(outbox, {"email": FakeChannel()}, now=ISSUE)
    assert report.no_channel and outbox.stats()["pending"] == 1


def test_claim_is_exclusive_and_a_lost_claim_expires(outbox):
    outbox.enqueue("s:e:1", "email", "a@example.dk", b"x", now=ISSUE)
    (message,) = outbox.pending(ISSUE)
    assert outbox.claim(message.id, ISSUE)
    assert not outbox.claim(message.id, ISSUE)          # a second deliverer backs off
    assert outbox.pending(ISSUE + timedelta(minutes=1)) == []
    # the claimer died while sending: after the lease the message is due again
    assert [m.id for m in outbox.pending(ISSUE + timedelta(minutes=6))] == [message.id]
