"""runs set aside

A run uploaded by mistake, or the sample's, can be set aside: it leaves the run list, the trends
and what later runs learn from, nothing of it is deleted, and it can be brought back. The store
keeps who set it aside and when (a shared store's other users see it gone).
"""

import sqlalchemy as sa
from alembic import op

from classifier.store.migrations.helpers import record
from classifier.store.types import Timestamp

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("set_aside_by", sa.Text))
    op.add_column("runs", sa.Column("set_aside_at", Timestamp()))
    record(10, "runs set aside")


def downgrade() -> None:
    raise NotImplementedError("stores are never downgraded")
