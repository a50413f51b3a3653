"""The alert state of each subscription, kept in the outbox's database.

The state and the messages it implies are committed together (see
:func:`wetindex.alerts.engine.run_alerts`), so the table lives next to the outbox.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from wetindex.alerts.outbox import (
    Outbox,
    alert_state_table,
    from_db_time,
    make_engine,
    metadata,
    to_db_time,
)


@dataclass(frozen=True)
class AlertState:
    """A subscription's alert state after the last processed forecast.

    ``event_id`` names the episode from the first alert to its all-clear; ``revision``
    counts its messages; ``since`` is when the current level was entered.
    """

    subscription_id: str
    level: int
    since: datetime | None
    event_id: str | None
    revision: int
    probability: float
    issue_time: datetime


class AlertStore:
    """Alert state per subscription, in the outbox's database (table ``alert_state``)."""

    def __init__(self, url: str | Engine | Outbox):
        self.engine = url.engine if isinstance(url, Outbox) else make_engine(url)
        metadata.create_all(self.engine)

    def get(self, subscription_id: str) -> AlertState | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(alert_state_table).where(
                alert_state_table.c.subscription_id == subscription_id)).first()
        if row is None:
            return None
        d = dict(row._mapping)
        d["since"], d["issue_time"] = from_db_time(d["since"]), from_db_time(d["issue_time"])
        return AlertState(**d)

    def save(self, state: AlertState, conn: Connection | None = None) -> None:
        """Insert or replace the state; pass ``conn`` to save inside a transaction."""
        if conn is None:
            with self.engine.begin() as own:
                return self.save(state, own)
        row = asdict(state)
        row["since"], row["issue_time"] = to_db_time(row["since"]), to_db_time(row["issue_time"])
        if conn.dialect.name == "sqlite":
            stmt = sqlite_insert(alert_state_table).values(**row)
            conn.execute(stmt.on_conflict_do_update(
                index_elements=["subscription_id"],
                set_={k: stmt.excluded[k] for k in row if k != "subscription_id"}))
        else:
            conn.execute(alert_state_table.delete().where(
                alert_state_table.c.subscription_id == state.subscription_id))
            conn.execute(alert_state_table.insert().values(**row))
        return None
