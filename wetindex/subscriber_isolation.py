"""One bad subscription is reported and skipped; everyone else gets their alert.

A single bad entry in the subscriptions file used to block every subscriber: the
whole file was refused, or ``run_alerts`` raised after queueing and before anything
was delivered, on every rerun. Here each entry is loaded and decided on its own;
the bad ones come back as one line each (file, entry, what is wrong) for ``check``
and the ``run alerts`` summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from wetindex.alerts import subscriptions as subs
from wetindex.alerts.engine import run_alerts
from wetindex.config import format_validation_error


def load_isolated(path: Path, crs: str) -> tuple[list, list[str]]:
    """``(subscriptions, problems)`` from a subscriptions YAML, entry by entry."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [], [f"{path}: subscriptions file not found; fix alerts.subscriptions"]
    except yaml.YAMLError as err:
        return [], [f"{path}: not valid YAML ({err}); no subscriber can be alerted"]
    entries = data.get("subscriptions") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return [], [f"{path}: expected a 'subscriptions:' list at the top level"]
    out: list = []
    problems: list[str] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        label = _label(i, entry)
        try:
            spec = subs.SubscriptionsFile.model_validate({"subscriptions": [entry]}
                                                          ).subscriptions[0]
            if spec.id in seen:
                raise ValueError(f"duplicate id {spec.id!r}; ids must be unique")
            out.append(subs.subscription_from_spec(spec, crs,
                                                   f"{path}: subscription {spec.id!r}"))
            seen.add(spec.id)
        except ValidationError as err:  # the one formatter's lines, on one line
            lines = format_validation_error(err, str(path), "subscription").splitlines()[1:]
            what = "; ".join(line.strip().replace("subscriptions[0].", "") for line in lines)
            problems.append(f"{path}: {label} skipped: {what}")
        except Exception as err:  # a geometry or CRS that cannot be used: this entry only
            problems.append(f"{path}: {label} skipped: {err}")
    return out, problems


def _label(i: int, entry: Any) -> str:
    ident = entry.get("id") if isinstance(entry, dict) else None
    return f"subscription #{i + 1}" + (f" (id {ident!r})" if ident else "")


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
