"""runs: waiting_for_input, the question a parked run asks, its saved state, the answers and its deadline

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 07:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('question', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('parked', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('answers', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('waiting_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_run_waiting_until'), ['waiting_until'], unique=False)
        # "waiting_for_input" is longer than the 16 characters the column had
        batch_op.alter_column('status', existing_type=sa.String(length=16), type_=sa.String(length=32),
                              existing_nullable=False)


def downgrade() -> None:
    # the older schema knows no waiting run: those end as failed
    op.execute("UPDATE run SET status = 'failed', error = 'stopped by a downgrade while it waited for an answer' "
               "WHERE status = 'waiting_for_input'")
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=sa.String(length=32), type_=sa.String(length=16),
                              existing_nullable=False)
        batch_op.drop_index(batch_op.f('ix_run_waiting_until'))
        batch_op.drop_column('waiting_until')
        batch_op.drop_column('answers')
        batch_op.drop_column('parked')
        batch_op.drop_column('question')
