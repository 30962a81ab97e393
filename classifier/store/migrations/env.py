"""Alembic's environment: runs on the connection, inside the transaction, the store hands it.

No alembic.ini and no logging.config.fileConfig: the caller's logging stays as it is.
"""

from alembic import context

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=None,
    render_as_batch=True,  # SQLite changes a table by rebuilding it (op.batch_alter_table)
    transaction_per_migration=False,
)
# The store already began the transaction: every revision and the version stamp commit (or
# roll back) together, on SQLite and PostgreSQL alike.
with context.begin_transaction():
    context.run_migrations()
