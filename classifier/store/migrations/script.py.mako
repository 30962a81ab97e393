"""${message}"""

import sqlalchemy as sa
from alembic import op

from classifier.store.migrations.helpers import record
${imports if imports else ""}

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}
    record(int(revision), ${repr(message)})


def downgrade() -> None:
    raise NotImplementedError("stores are never downgraded")
