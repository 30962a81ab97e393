"""earlier tasks a run learned from

A run may learn from the plan's earlier runs (their tasks move the strategy prototypes, see
classifier/model/history.py); it records which runs and how many of their tasks, so it can be
reproduced and a page can say when a re-run would learn more.
"""

import sqlalchemy as sa
from alembic import op

from classifier.store.migrations.helpers import record

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("earlier", sa.Text))
    record(9, "earlier tasks a run learned from")


def downgrade() -> None:
    raise NotImplementedError("stores are never downgraded")
