"""review decisions (hand-rolled migration 2)"""

import sqlalchemy as sa
from alembic import op

from classifier.store.migrations.helpers import record

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("row", sa.Integer, nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("strategy_id", sa.Text),
        sa.Column("reviewer", sa.Text, nullable=False),
        sa.Column("decided_at", sa.String(40), nullable=False),
        sa.Column("machine_strategy_id", sa.Text),
        sa.Column("machine_status", sa.String(20)),
        sa.Column("machine_score", sa.Float),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("undoes", sa.Integer, sa.ForeignKey("decisions.id")),
    )
    op.create_index("ix_decisions_run_row", "decisions", ["run_id", "row"])
    op.create_index("ix_decisions_undoes", "decisions", ["undoes"])
    record(2, "review decisions")


def downgrade() -> None:
    raise NotImplementedError("stores are never downgraded")
