"""One alert decision: what the state machine (:mod:`wetindex.alerts.engine`) decided to
send, which the channels (:mod:`wetindex.alerts.email`, :mod:`wetindex.alerts.sms`,
the webhook) render. Kept apart so the channels need not import the engine that calls
them (that was an import cycle)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class AlertDecision:
    """A message to send: a new alert, an update (level changed) or an all-clear."""

    subscription_id: str
    event_id: str
    revision: int
    kind: str  # "alert" | "update" | "all_clear"
    level: int
    previous_level: int
    probability: float
    issue_time: datetime
    onset: datetime | None
    peak_time: datetime | None
    drivers: dict[str, float]
    place: str
    area_name: str = ""
    #: end of the warning's window: the covering place warning's (as on the site and in
    #: the feed), else the last hour at or above the subscriber's lowest level (None:
    #: beyond the horizon/none)
    expires: datetime | None = None
    #: the drivers in physical units, from the covering warning (see _warning_conditions)
    conditions: dict[str, Any] = field(default_factory=dict)
    #: first hour at or above each level up to ``level`` (by level name; ``onset`` is
    #: the entry of ``level``), and whether the warning lasts beyond the forecast's
    #: end: the covering warning's when it has this level, else from the same
    #: computation on the subscriber's own hours (wetindex.risk.warning_timeline)
    level_from: dict[str, datetime] = field(default_factory=dict)
    beyond_horizon: bool = False

    @property
    def idempotency_key(self) -> str:
        return f"{self.subscription_id}:{self.event_id}:{self.revision}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("issue_time", "onset", "peak_time", "expires"):
            d[key] = d[key].isoformat() if d[key] is not None else None
        d["conditions"] = {k: v.isoformat() if isinstance(v, datetime) else v
                           for k, v in d["conditions"].items()}
        d["level_from"] = {k: v.isoformat() for k, v in self.level_from.items()}
        return d
