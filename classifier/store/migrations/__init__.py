"""Alembic's scripts for the store, inside the package (no alembic.ini): run on open by
`Database._migrate`, one transaction for all revisions. Revisions 0001-0006 are frozen copies of
the hand-rolled migrations 1-6 that stores made before Alembic recorded."""
