"""learned example flags (hand-rolled migration 3)"""

import sqlalchemy as sa
from alembic import op

from classifier.store.migrations.helpers import record

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "example_flags",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("decision_id", sa.Integer, sa.ForeignKey("decisions.id"), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("by", sa.Text, nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_example_flags_decision", "example_flags", ["decision_id"])
    record(3, "learned example flags")


def downgrade() -> None:
    raise NotImplementedError("stores are never downgraded")
