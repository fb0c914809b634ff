"""waiting rooms: a showtime's on-sale settings (sales open at, waiting room, active limit, pass TTL)

Revision ID: c4e8a1f2b9d0
Revises: b7c1e2f3a4d5
Create Date: 2026-12-04 01:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c4e8a1f2b9d0'
down_revision = 'b7c1e2f3a4d5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'waiting_rooms',
        sa.Column('showtime_id', sa.Integer(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('active_limit', sa.Integer(), nullable=False),
        sa.Column('sales_open_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('pass_ttl_s', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('active_limit > 0', name=op.f('ck_waiting_rooms_active_limit_positive')),
        sa.CheckConstraint('pass_ttl_s >= 60', name=op.f('ck_waiting_rooms_pass_ttl_min')),
        sa.ForeignKeyConstraint(['showtime_id'], ['showtimes.id'], name=op.f('fk_waiting_rooms_showtime_id_showtimes'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('showtime_id', name=op.f('pk_waiting_rooms')),
    )


def downgrade():
    op.drop_table('waiting_rooms')
