"""input columns a run read dates in

A workbook's date cells are kept as ISO text in a run's stored rows; the run records which of its
input columns held dates, so its report and queue workbooks write them as dates again (a
manager sorting by date got text order) while a CSV's text that looks like a date stays text.
"""

import sqlalchemy as sa
from alembic import op

from classifier.store.migrations.helpers import record

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("date_columns", sa.Text))
    record(11, "input columns a run read dates in")


def downgrade() -> None:
    raise NotImplementedError("stores are never downgraded")
