"""theatres: allow_single_seat_gaps (a lock may leave one empty seat between taken ones)

Revision ID: e7a9c3d1f5b2
Revises: c4e8a1f2b9d0
Create Date: 2026-12-04 19:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e7a9c3d1f5b2'
down_revision = 'c4e8a1f2b9d0'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('theatres', sa.Column('allow_single_seat_gaps', sa.Boolean(), nullable=False,
                                        server_default=sa.false()))


def downgrade():
    op.drop_column('theatres', 'allow_single_seat_gaps')
