"""plans, runs and results (hand-rolled migration 1), and the `migrations` table"""

import sqlalchemy as sa
from alembic import op

from classifier.store.migrations.helpers import record

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "migrations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("applied_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "plans",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("name", "version"),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("plan_id", sa.Integer, sa.ForeignKey("plans.id"), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("text_column", sa.Text, nullable=False),
        sa.Column("thresholds", sa.Text, nullable=False),
        sa.Column("columns", sa.Text, nullable=False),
        sa.Column("result_columns", sa.Text, nullable=False),
        sa.Column("row_count", sa.Integer, nullable=False),
    )
    op.create_table(
        "results",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("row", sa.Integer, primary_key=True),
        sa.Column("input", sa.Text, nullable=False),
        sa.Column("strategy_id", sa.Text),
        sa.Column("strategy", sa.Text),
        sa.Column("score", sa.Float),
        sa.Column("status", sa.String(20)),
        sa.Column("runner_up_id", sa.Text),
        sa.Column("runner_up_score", sa.Float),
        sa.Column("evidence", sa.Text),
        sa.Column("llm_strategy_id", sa.Text),
        sa.Column("rationale", sa.Text),
        sa.Column("candidates", sa.Text),
    )
    record(1, "plans, runs and results")


def downgrade() -> None:
    raise NotImplementedError("stores are never downgraded")
