"""The alerts stage: decisions for the area's stored subscribers, then delivery."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from wetindex.alerts.area import alerts_folder, db_url, run_area_alerts
from wetindex.sources.base import AreaInputs
from wetindex.stages.context import AreaContext
from wetindex.stages.products import Forecast


@dataclass
class AlertsResult:
    decisions: int
    sent: int
    pending: int
    failed: int
    mail_dir: Path
    outbox: Path
    #: this run's delivery outcomes (see wetindex.alerts.delivery) and held warnings
    outcomes: dict[str, int] | None = None
    held: dict[str, str] | None = None
    notes: list[str] | None = None
    #: subscriptions reported and skipped (bad entries), one line each
    problems: list[str] = field(default_factory=list)


def alerts_stage(ctx: AreaContext, inputs: AreaInputs, forecast: Forecast) -> AlertsResult:
    """Decide alerts for the area's stored subscribers into the outbox, then deliver them.

    See :mod:`wetindex.alerts.area`: one encrypted subscriber store, the configured
    relay/gateway (the demo: a loopback mail server writing ``alerts/mail/*.eml``).
    """
    done = run_area_alerts(ctx, inputs, forecast)
    counts = done.delivery.counts()
    stats = done.delivery
    return AlertsResult(decisions=done.decisions, sent=counts["accepted"],
                        pending=counts["deferred"] + counts["unrouted"],
                        failed=counts["failed"] + counts["bounced"],
                        mail_dir=stats.mail_dir or alerts_folder(ctx) / "mail",
                        outbox=Path(db_url(ctx).removeprefix("sqlite:///")),
                        outcomes=counts, held=done.held, notes=done.notes,
                        problems=done.problems)

