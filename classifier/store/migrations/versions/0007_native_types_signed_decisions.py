"""native types on PostgreSQL; the signed-in reviewer's subject; a run writer's host

PostgreSQL: ISO 8601 text becomes timestamptz and JSON text becomes jsonb, converting stored
values in place. SQLite keeps the same text (classifier.store.types reads and writes it), so
its stores need no rewrite. On both: `decisions.reviewer_subject` holds the identity provider's
issuer and subject of a signed-in reviewer, and `runs.owner_host` tells which machine's process
is writing a run (a process id means nothing on another laptop sharing the server).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from classifier.store.migrations.helpers import record

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

DATES = {"migrations": ["applied_at"], "plans": ["created_at"], "runs": ["created_at"],
         "decisions": ["decided_at"], "example_flags": ["at"], "cache": ["created_at"],
         "usage": ["at"]}
JSONS = {"plans": ["content"], "runs": ["thresholds", "columns", "result_columns"],
         "results": ["input", "candidates"], "cache": ["value"]}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, columns in DATES.items():
            for column in columns:
                op.alter_column(table, column, type_=sa.DateTime(timezone=True),
                                existing_type=sa.String(40),
                                postgresql_using=f'"{column}"::timestamptz')
        for table, columns in JSONS.items():
            for column in columns:
                op.alter_column(table, column, type_=postgresql.JSONB(),
                                existing_type=sa.Text(), postgresql_using=f'"{column}"::jsonb')
    op.add_column("decisions", sa.Column("reviewer_subject", sa.Text))
    op.add_column("runs", sa.Column("owner_host", sa.Text))
    record(7, "native types on PostgreSQL, signed decisions, run writer's host")


def downgrade() -> None:
    raise NotImplementedError("stores are never downgraded")
