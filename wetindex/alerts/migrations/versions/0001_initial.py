"""Initial schema: subscribers, alert_state, outbox.

``alert_state`` and ``outbox`` may already exist in a database made by
:class:`~wetindex.alerts.outbox.Outbox` before migrations existed (its
``create_all``): they are created only when missing, with the same columns, so such
a database is adopted as is.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "alert_state" not in existing:
        op.create_table(
            "alert_state",
            sa.Column("subscription_id", sa.String, primary_key=True),
            sa.Column("level", sa.Integer, nullable=False),
            sa.Column("since", sa.DateTime, nullable=True),
            sa.Column("event_id", sa.String, nullable=True),
            sa.Column("revision", sa.Integer, nullable=False),
            sa.Column("probability", sa.Float, nullable=False),
            sa.Column("issue_time", sa.DateTime, nullable=False),
        )
    if "outbox" not in existing:
        op.create_table(
            "outbox",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("idempotency_key", sa.String, nullable=False),
            sa.Column("channel", sa.String, nullable=False),
            sa.Column("recipient", sa.String, nullable=True),
            sa.Column("subscription_id", sa.String, nullable=True),
            sa.Column("body", sa.LargeBinary, nullable=False),
            sa.Column("status", sa.String, nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False),
            sa.Column("next_attempt_at", sa.DateTime, nullable=False),
            sa.Column("last_error", sa.Text, nullable=True),
            sa.Column("created_at", sa.DateTime, nullable=False),
            sa.Column("delivered_at", sa.DateTime, nullable=True),
            sa.UniqueConstraint("idempotency_key", "channel", name="uq_outbox_key_channel"),
        )
        op.create_index("ix_outbox_status", "outbox", ["status"])
    op.create_table(
        "subscribers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("area", sa.String(100), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("email_enc", sa.LargeBinary, nullable=True),
        sa.Column("email_index", sa.String(64), nullable=True, index=True),
        sa.Column("phone_enc", sa.LargeBinary, nullable=True),
        sa.Column("webhook_url_enc", sa.LargeBinary, nullable=True),
        sa.Column("webhook_secret_enc", sa.LargeBinary, nullable=True),
        sa.Column("channels", sa.String(64), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("area_kind", sa.String(16), nullable=False),
        sa.Column("area_crs", sa.String(64), nullable=False),
        sa.Column("area_wkb", sa.LargeBinary, nullable=False),
        sa.Column("area_source_wkt", sa.Text, nullable=False),
        sa.Column("buffer_m", sa.Float, nullable=True),
        sa.Column("min_level", sa.Integer, nullable=False),
        sa.Column("min_probability", sa.Float, nullable=True),
        sa.Column("max_lead_h", sa.Integer, nullable=False),
        sa.Column("confirm_token_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("unsubscribe_token_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("token_salt", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("confirmed_at", sa.DateTime, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("subscribers")
    op.drop_table("outbox")
    op.drop_table("alert_state")
