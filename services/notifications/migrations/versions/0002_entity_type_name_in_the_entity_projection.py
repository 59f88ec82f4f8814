"""Entity type name and source episode in the entity projection

Why: Zou names an asset "<asset type> / <asset>" in notifications and news
(``full_entity_name``) and gives its source episode as ``episode_id``; the
projection kept neither.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 00:10:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('p_entity', sa.Column('type_name', sa.String(length=200), nullable=True))
    op.add_column('p_entity', sa.Column('source_id', sa.UUID(as_uuid=False), nullable=True))


def downgrade():
    op.drop_column('p_entity', 'source_id')
    op.drop_column('p_entity', 'type_name')
