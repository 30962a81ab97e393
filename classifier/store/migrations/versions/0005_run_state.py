"""run state (hand-rolled migration 5)

A run written chunk by chunk (the command line) is `writing` until its last row is in; pages and
commands only see `done` runs, and a killed run's rows are removed later.
"""

import sqlalchemy as sa
from alembic import op

from classifier.store.migrations.helpers import record

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("state", sa.String(20), nullable=False,
                                    server_default="done"))
    op.add_column("runs", sa.Column("owner_pid", sa.Integer))
    record(5, "run state")


def downgrade() -> None:
    raise NotImplementedError("stores are never downgraded")
