"""One bad subscription is reported and skipped; everyone else gets their alert.

``run_alerts`` on its own raised for the first subscription it could not decide, after
queueing and before anything was delivered, on every rerun. Here each subscription is
decided on its own; the ones that cannot be come back as one line each for the
``run alerts`` summary. (A subscribers file is read entry by entry in the same spirit:
:func:`wetindex.alerts.subscriber_input.read_subscribers_file`.)
"""

from __future__ import annotations

from wetindex.alerts.engine import run_alerts


def run_alerts_isolated(forecast, subscriptions: list, store, outbox, **kwargs
                        ) -> tuple[list, list[str]]:
    """``run_alerts`` one subscription at a time: ``(decisions, problems)``.

    Each subscription is its own transaction in ``run_alerts`` already; deciding them
    one by one means an error in one is reported and the others are still decided
    (and then delivered by the caller).
    """
    decisions: list = []
    problems: list[str] = []
    for sub in subscriptions:
        try:
            decisions += run_alerts(forecast, [sub], store, outbox, **kwargs)
        except Exception as err:  # one subscriber's fault must not hold back the rest
            problems.append(f"subscription {getattr(sub, 'id', '?')!r} skipped: {err}")
    return decisions, problems
