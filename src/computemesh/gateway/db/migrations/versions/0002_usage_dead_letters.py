"""Usage records the database refused, set aside instead of holding back the others.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_dead_letters",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("set_aside_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("usage_dead_letters")
