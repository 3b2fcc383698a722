"""prompts and resources: a run's purpose (a prompt rendered, a templated resource read) and resource subscriptions

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 20:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('run', sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=2100), nullable=True))
    op.create_table('resourcesubscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('uri', sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('session_key', 'uri')
    )
    op.create_index(op.f('ix_resourcesubscription_session_key'), 'resourcesubscription', ['session_key'], unique=False)
    op.create_index(op.f('ix_resourcesubscription_created_at'), 'resourcesubscription', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_resourcesubscription_created_at'), table_name='resourcesubscription')
    op.drop_index(op.f('ix_resourcesubscription_session_key'), table_name='resourcesubscription')
    op.drop_table('resourcesubscription')
    op.drop_column('run', 'purpose')
