"""Create the auth schema: people, organisation, studios, departments, credentials, logs, outbox and inbox

Why: the first revision of the auth service. Secrets live in ``credential``,
apart from ``person``, so that no serialisation of a person can leak them.

Revision ID: 0001
Revises: 
Create Date: 2026-12-04 20:59:52.967813
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('department',
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('color', sa.String(length=7), nullable=True),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('inbox',
    sa.Column('consumer', sa.String(length=200), nullable=False),
    sa.Column('event_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('processed_at', sa.DateTime(), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('consumer', 'event_id')
    )
    op.create_table('login_log',
    sa.Column('person_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('ip_address', sa.String(length=45), nullable=True),
    sa.Column('origin', sa.String(length=10), nullable=True),
    sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_login_log_person_id'), 'login_log', ['person_id'], unique=False)
    op.create_table('organisation',
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('hours_by_day', sa.Double(), nullable=False),
    sa.Column('has_avatar', sa.Boolean(), nullable=False),
    sa.Column('use_original_file_name', sa.Boolean(), nullable=False),
    sa.Column('timesheets_locked', sa.Boolean(), nullable=False),
    sa.Column('format_duration_in_hours', sa.Boolean(), nullable=False),
    sa.Column('hd_by_default', sa.Boolean(), nullable=False),
    sa.Column('chat_token_slack', sa.String(length=80), nullable=True),
    sa.Column('chat_webhook_mattermost', sa.String(length=80), nullable=True),
    sa.Column('chat_token_discord', sa.String(length=80), nullable=True),
    sa.Column('dark_theme_by_default', sa.Boolean(), nullable=False),
    sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('event_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('body', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(), server_default=sa.text('now()'), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id')
    )
    op.create_index(op.f('ix_outbox_published_at'), 'outbox', ['published_at'], unique=False)
    op.create_table('revoked_session',
    sa.Column('sid', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('sid')
    )
    op.create_index(op.f('ix_revoked_session_expires_at'), 'revoked_session', ['expires_at'], unique=False)
    op.create_index(op.f('ix_revoked_session_person_id'), 'revoked_session', ['person_id'], unique=False)
    op.create_table('search_filter_group',
    sa.Column('list_type', sa.String(length=80), nullable=False),
    sa.Column('entity_type', sa.String(length=80), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('color', sa.String(length=8), nullable=False),
    sa.Column('is_shared', sa.Boolean(), nullable=False),
    sa.Column('person_id', sa.UUID(as_uuid=False), nullable=True),
    sa.Column('project_id', sa.UUID(as_uuid=False), nullable=True),
    sa.Column('department_id', sa.UUID(as_uuid=False), nullable=True),
    sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_search_filter_group_department_id'), 'search_filter_group', ['department_id'], unique=False)
    op.create_index(op.f('ix_search_filter_group_person_id'), 'search_filter_group', ['person_id'], unique=False)
    op.create_index(op.f('ix_search_filter_group_project_id'), 'search_filter_group', ['project_id'], unique=False)
    op.create_table('studio',
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('color', sa.String(length=7), nullable=True),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('person',
    sa.Column('first_name', sa.String(length=80), nullable=False),
    sa.Column('last_name', sa.String(length=80), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=True),
    sa.Column('phone', sa.String(length=30), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('contract_type', sa.String(length=30), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('last_presence', sa.Date(), nullable=True),
    sa.Column('desktop_login', sa.String(length=80), nullable=True),
    sa.Column('totp_enabled', sa.Boolean(), nullable=False),
    sa.Column('email_otp_enabled', sa.Boolean(), nullable=False),
    sa.Column('fido_enabled', sa.Boolean(), nullable=False),
    sa.Column('preferred_two_factor_authentication', sa.String(length=30), nullable=True),
    sa.Column('shotgun_id', sa.Integer(), nullable=True),
    sa.Column('timezone', sa.String(length=50), nullable=True),
    sa.Column('locale', sa.String(length=10), nullable=True),
    sa.Column('use_12_hour_clock', sa.Boolean(), nullable=False),
    sa.Column('display_date_format', sa.String(length=20), nullable=True),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('role', sa.String(length=30), nullable=False),
    sa.Column('position', sa.String(length=30), nullable=True),
    sa.Column('seniority', sa.String(length=30), nullable=True),
    sa.Column('daily_salary', sa.Integer(), nullable=True),
    sa.Column('has_avatar', sa.Boolean(), nullable=False),
    sa.Column('notifications_enabled', sa.Boolean(), nullable=False),
    sa.Column('notifications_slack_enabled', sa.Boolean(), nullable=False),
    sa.Column('notifications_slack_userid', sa.String(length=60), nullable=True),
    sa.Column('notifications_mattermost_enabled', sa.Boolean(), nullable=False),
    sa.Column('notifications_mattermost_userid', sa.String(length=60), nullable=True),
    sa.Column('notifications_discord_enabled', sa.Boolean(), nullable=False),
    sa.Column('notifications_discord_userid', sa.String(length=60), nullable=True),
    sa.Column('is_bot', sa.Boolean(), nullable=False),
    sa.Column('is_guest', sa.Boolean(), nullable=False),
    sa.Column('expiration_date', sa.Date(), nullable=True),
    sa.Column('is_generated_from_ldap', sa.Boolean(), nullable=False),
    sa.Column('ldap_uid', sa.String(length=60), nullable=True),
    sa.Column('studio_id', sa.UUID(as_uuid=False), nullable=True),
    sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['studio_id'], ['studio.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ldap_uid'),
    sa.UniqueConstraint('shotgun_id')
    )
    op.create_index(op.f('ix_person_studio_id'), 'person', ['studio_id'], unique=False)
    op.create_index('only_one_email_by_person', 'person', ['email'], unique=True, postgresql_where=sa.text('is_bot IS NOT true'))
    op.create_table('search_filter',
    sa.Column('list_type', sa.String(length=80), nullable=False),
    sa.Column('entity_type', sa.String(length=80), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('search_query', sa.String(length=500), nullable=False),
    sa.Column('is_shared', sa.Boolean(), nullable=False),
    sa.Column('search_filter_group_id', sa.UUID(as_uuid=False), nullable=True),
    sa.Column('person_id', sa.UUID(as_uuid=False), nullable=True),
    sa.Column('project_id', sa.UUID(as_uuid=False), nullable=True),
    sa.Column('department_id', sa.UUID(as_uuid=False), nullable=True),
    sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['search_filter_group_id'], ['search_filter_group.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_search_filter_department_id'), 'search_filter', ['department_id'], unique=False)
    op.create_index(op.f('ix_search_filter_person_id'), 'search_filter', ['person_id'], unique=False)
    op.create_index(op.f('ix_search_filter_project_id'), 'search_filter', ['project_id'], unique=False)
    op.create_index(op.f('ix_search_filter_search_filter_group_id'), 'search_filter', ['search_filter_group_id'], unique=False)
    op.create_table('credential',
    sa.Column('person_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('password_hash', sa.LargeBinary(length=60), nullable=True),
    sa.Column('login_failed_attemps', sa.Integer(), nullable=False),
    sa.Column('last_login_failed', sa.DateTime(), nullable=True),
    sa.Column('totp_secret', sa.String(length=32), nullable=True),
    sa.Column('email_otp_secret', sa.String(length=32), nullable=True),
    sa.Column('fido_credentials', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('fido_challenge', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('otp_recovery_codes', postgresql.ARRAY(sa.LargeBinary(length=60)), nullable=True),
    sa.Column('bot_jti', sa.String(length=60), nullable=True),
    sa.Column('password_reset_token', sa.String(length=128), nullable=True),
    sa.Column('password_reset_expires', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id'),
    sa.UniqueConstraint('bot_jti')
    )
    op.create_table('day_off',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('person_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_day_off_person_id'), 'day_off', ['person_id'], unique=False)
    op.create_table('department_link',
    sa.Column('person_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('department_id', sa.UUID(as_uuid=False), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', 'department_id')
    )
    op.create_table('desktop_login_log',
    sa.Column('person_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('date', sa.DateTime(), nullable=False),
    sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_desktop_login_log_person_id'), 'desktop_login_log', ['person_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_desktop_login_log_person_id'), table_name='desktop_login_log')
    op.drop_table('desktop_login_log')
    op.drop_table('department_link')
    op.drop_index(op.f('ix_day_off_person_id'), table_name='day_off')
    op.drop_table('day_off')
    op.drop_table('credential')
    op.drop_index(op.f('ix_search_filter_search_filter_group_id'), table_name='search_filter')
    op.drop_index(op.f('ix_search_filter_project_id'), table_name='search_filter')
    op.drop_index(op.f('ix_search_filter_person_id'), table_name='search_filter')
    op.drop_index(op.f('ix_search_filter_department_id'), table_name='search_filter')
    op.drop_table('search_filter')
    op.drop_index('only_one_email_by_person', table_name='person', postgresql_where=sa.text('is_bot IS NOT true'))
    op.drop_index(op.f('ix_person_studio_id'), table_name='person')
    op.drop_table('person')
    op.drop_table('studio')
    op.drop_index(op.f('ix_search_filter_group_project_id'), table_name='search_filter_group')
    op.drop_index(op.f('ix_search_filter_group_person_id'), table_name='search_filter_group')
    op.drop_index(op.f('ix_search_filter_group_department_id'), table_name='search_filter_group')
    op.drop_table('search_filter_group')
    op.drop_index(op.f('ix_revoked_session_person_id'), table_name='revoked_session')
    op.drop_index(op.f('ix_revoked_session_expires_at'), table_name='revoked_session')
    op.drop_table('revoked_session')
    op.drop_index(op.f('ix_outbox_published_at'), table_name='outbox')
    op.drop_table('outbox')
    op.drop_table('organisation')
    op.drop_index(op.f('ix_login_log_person_id'), table_name='login_log')
    op.drop_table('login_log')
    op.drop_table('inbox')
    op.drop_table('department')
