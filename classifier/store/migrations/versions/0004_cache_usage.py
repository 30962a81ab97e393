"""cache and usage (hand-rolled migration 4)"""

import sqlalchemy as sa
from alembic import op

from classifier.store.migrations.helpers import record

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cache",
        sa.Column("kind", sa.String(100), primary_key=True),
        sa.Column("key_hash", sa.String(64), primary_key=True),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "usage",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("tokens_in", sa.Integer, nullable=False),
        sa.Column("tokens_out", sa.Integer, nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
    )
    record(4, "cache and usage")


def downgrade() -> None:
    raise NotImplementedError("stores are never downgraded")
