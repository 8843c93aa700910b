"""needs.ref: a station's own number for a need (本站编号)

A station's imported needs get ids from the service, so an id held by
another station can never be told apart from a free one; the station's own
numbers are kept in ``ref`` and matched on the next import.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 22:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ref', sa.String(length=100), nullable=False,
                                      server_default=''))
        batch_op.create_index('ix_needs_ref', ['ref'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.drop_index('ix_needs_ref')
        batch_op.drop_column('ref')
