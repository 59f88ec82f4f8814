"""Share links say whether their guests may comment

Why: Zou's share links carry ``can_comment`` (default true); a link created
with it false lets guests watch but neither comment nor annotate. Expand
only: a new column with a server default, old replicas keep working.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 23:56:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("shared_link", sa.Column("can_comment", sa.Boolean(), server_default=sa.text("true"),
                                           nullable=False))


def downgrade():
    op.drop_column("shared_link", "can_comment")
