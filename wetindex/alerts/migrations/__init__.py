"""Alembic migrations of the alerts database (subscribers, alert_state, outbox).

Applied programmatically by :func:`upgrade_database` whenever a
:class:`~wetindex.alerts.subscribers.SubscriberStore` is opened; no ``alembic.ini`` is
needed. To write a new revision, add a file to ``versions/`` whose ``down_revision``
is the current head.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

HERE = Path(__file__).resolve().parent


def alembic_config(engine: Engine):
    """An Alembic ``Config`` for this package's scripts, bound to ``engine``."""
    from alembic.config import Config  # noqa: PLC0415 - alembic loads only when a database is migrated

    config = Config()
    config.set_main_option("script_location", str(HERE))
    # keep '%' in passwords from being read as interpolation
    config.set_main_option("sqlalchemy.url",
                           engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return config


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (default: the newest) in one transaction."""
    from alembic import command  # noqa: PLC0415 - alembic loads only when a database is migrated

    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None before the first migration)."""
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415 - alembic loads only when a database is migrated

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
