"""access: bearer tokens, toolkits, OAuth, call limits, the record of every call

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 17:09:21.252215
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('oauthclient',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('info', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('oauthclient', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauthclient_client_id'), ['client_id'], unique=True)

    op.create_table('toolkit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('nonce', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('secret_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('calls_per_minute', sa.Integer(), nullable=True),
    sa.Column('max_concurrent_runs', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rotated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('owner_id', 'name', name='uq_toolkit_owner_name')
    )
    with op.batch_alter_table('toolkit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_toolkit_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_toolkit_secret_hash'), ['secret_hash'], unique=True)

    op.create_table('toolkitapp',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('toolkit_id', sa.Integer(), nullable=False),
    sa.Column('app_id', sa.Integer(), nullable=False),
    sa.Column('tool_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['app_id'], ['app.id'], ),
    sa.ForeignKeyConstraint(['toolkit_id'], ['toolkit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('toolkit_id', 'app_id', name='uq_toolkitapp_toolkit_app'),
    sa.UniqueConstraint('toolkit_id', 'tool_name', name='uq_toolkitapp_toolkit_tool')
    )
    with op.batch_alter_table('toolkitapp', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_toolkitapp_app_id'), ['app_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_toolkitapp_toolkit_id'), ['toolkit_id'], unique=False)

    op.create_table('accesstoken',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('endpoint_id', sa.Integer(), nullable=True),
    sa.Column('toolkit_id', sa.Integer(), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('prefix', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('calls_per_minute', sa.Integer(), nullable=True),
    sa.Column('max_concurrent_runs', sa.Integer(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['endpoint_id'], ['mcpendpoint.id'], ),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['toolkit_id'], ['toolkit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('accesstoken', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accesstoken_endpoint_id'), ['endpoint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_accesstoken_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_accesstoken_token_hash'), ['token_hash'], unique=True)
        batch_op.create_index(batch_op.f('ix_accesstoken_toolkit_id'), ['toolkit_id'], unique=False)

    op.create_table('oauthgrant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('family', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('endpoint_id', sa.Integer(), nullable=True),
    sa.Column('toolkit_id', sa.Integer(), nullable=True),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['endpoint_id'], ['mcpendpoint.id'], ),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['toolkit_id'], ['toolkit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('oauthgrant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauthgrant_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oauthgrant_endpoint_id'), ['endpoint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oauthgrant_family'), ['family'], unique=False)
        batch_op.create_index(batch_op.f('ix_oauthgrant_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oauthgrant_token_hash'), ['token_hash'], unique=True)
        batch_op.create_index(batch_op.f('ix_oauthgrant_toolkit_id'), ['toolkit_id'], unique=False)

    with op.batch_alter_table('mcpendpoint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calls_per_minute', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('max_concurrent_runs', sa.Integer(), nullable=True))

    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('toolkit_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('token_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('token_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch_op.add_column(sa.Column('access', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column('arguments', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('progress_trail', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_run_client_name'), ['client_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_run_endpoint_id'), ['endpoint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_run_toolkit_id'), ['toolkit_id'], unique=False)
        batch_op.create_foreign_key('fk_run_toolkit_id_toolkit', 'toolkit', ['toolkit_id'], ['id'])
        batch_op.create_foreign_key('fk_run_token_id_accesstoken', 'accesstoken', ['token_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.drop_constraint('fk_run_toolkit_id_toolkit', type_='foreignkey')
        batch_op.drop_constraint('fk_run_token_id_accesstoken', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_run_toolkit_id'))
        batch_op.drop_index(batch_op.f('ix_run_endpoint_id'))
        batch_op.drop_index(batch_op.f('ix_run_client_name'))
        batch_op.drop_column('progress_trail')
        batch_op.drop_column('arguments')
        batch_op.drop_column('access')
        batch_op.drop_column('token_name')
        batch_op.drop_column('token_id')
        batch_op.drop_column('toolkit_id')

    with op.batch_alter_table('mcpendpoint', schema=None) as batch_op:
        batch_op.drop_column('max_concurrent_runs')
        batch_op.drop_column('calls_per_minute')

    with op.batch_alter_table('oauthgrant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauthgrant_toolkit_id'))
        batch_op.drop_index(batch_op.f('ix_oauthgrant_token_hash'))
        batch_op.drop_index(batch_op.f('ix_oauthgrant_owner_id'))
        batch_op.drop_index(batch_op.f('ix_oauthgrant_family'))
        batch_op.drop_index(batch_op.f('ix_oauthgrant_endpoint_id'))
        batch_op.drop_index(batch_op.f('ix_oauthgrant_client_id'))

    op.drop_table('oauthgrant')
    with op.batch_alter_table('accesstoken', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accesstoken_toolkit_id'))
        batch_op.drop_index(batch_op.f('ix_accesstoken_token_hash'))
        batch_op.drop_index(batch_op.f('ix_accesstoken_owner_id'))
        batch_op.drop_index(batch_op.f('ix_accesstoken_endpoint_id'))

    op.drop_table('accesstoken')
    with op.batch_alter_table('toolkitapp', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_toolkitapp_toolkit_id'))
        batch_op.drop_index(batch_op.f('ix_toolkitapp_app_id'))

    op.drop_table('toolkitapp')
    with op.batch_alter_table('toolkit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_toolkit_secret_hash'))
        batch_op.drop_index(batch_op.f('ix_toolkit_owner_id'))

    op.drop_table('toolkit')
    with op.batch_alter_table('oauthclient', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauthclient_client_id'))

    op.drop_table('oauthclient')
