"""needs.urgency_given and needs.inferred_urgency_confidence

A blank urgency cell is no longer the contract's default 2 but the level the
shipped text classifier infers from the text; ``urgency`` holds the level in
use, ``urgency_given`` says whether staff gave it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 02:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('urgency_given', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.add_column(sa.Column('inferred_urgency_confidence', sa.Float(),
                                      nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.drop_column('inferred_urgency_confidence')
        batch_op.drop_column('urgency_given')
