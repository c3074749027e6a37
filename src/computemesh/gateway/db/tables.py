"""The schema, as SQLAlchemy Core tables. Migrations under ``migrations/`` must match it."""

import sqlalchemy as sa

metadata = sa.MetaData()

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("address", sa.String(42), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    # SHA-256 of the whole key: unsalted on purpose, so a key is found by equality in
    # one index probe (the key carries 256 random bits; no dictionary to attack).
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_used", sa.DateTime(timezone=True), nullable=True),
    sa.Column("is_active", sa.Boolean, nullable=False),
)

login_nonces = sa.Table(
    "login_nonces",
    metadata,
    sa.Column("nonce", sa.String(64), primary_key=True),
    sa.Column("address", sa.String(42), nullable=False, index=True),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("chain_id", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

usage_records = sa.Table(
    "usage_records",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("user_id", sa.String(36), nullable=True),
    sa.Column("api_key_id", sa.String(36), nullable=True),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("node", sa.String(128), nullable=False),
    sa.Column("prompt_tokens", sa.Integer, nullable=False),
    sa.Column("completion_tokens", sa.Integer, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("streamed", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # The UTC day, stored so per-day totals group the same way on SQLite and PostgreSQL.
    sa.Column("day", sa.String(10), nullable=False),
    sa.Index("ix_usage_user_day", "user_id", "day"),
)

# Usage records the database refused (a NUL byte it cannot store, say), kept so nothing
# accepted is lost and the records behind them are not held up. ``record`` is the
# record as ASCII-escaped JSON: storable whatever the refused text held.
usage_dead_letters = sa.Table(
    "usage_dead_letters",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("record", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("set_aside_at", sa.DateTime(timezone=True), nullable=False),
)
