"""teach-in choices

A reviewer who skips a plan's teach-in round (or takes it up again) is remembered in the store,
not only in one browser session: the round does not come back every morning. The plan version is
kept, so a plan that replaces another (no strategy in common) gets its own round.
"""

import sqlalchemy as sa
from alembic import op

from classifier.store.migrations.helpers import record
from classifier.store.types import Timestamp

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "teach_in_choices",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("plan_name", sa.String(200), nullable=False),
        sa.Column("plan_version", sa.Integer, nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("choice", sa.String(20), nullable=False),
        sa.Column("at", Timestamp(), nullable=False),
    )
    record(8, "teach-in choices")


def downgrade() -> None:
    raise NotImplementedError("stores are never downgraded")
