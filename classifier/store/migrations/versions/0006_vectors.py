"""vectors (hand-rolled migration 6)

Vectors of task texts, by model: a re-run embeds only what it has never seen.
"""

import sqlalchemy as sa
from alembic import op

from classifier.store.migrations.helpers import record

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vectors",
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("text_hash", sa.String(64), primary_key=True),
        sa.Column("vector", sa.LargeBinary, nullable=False),
    )
    record(6, "vectors")


def downgrade() -> None:
    raise NotImplementedError("stores are never downgraded")
