"""mail marks: a booking's confirmation and reminder, a refund's notice, each mailed once

Revision ID: a3c5e7f9b1d4
Revises: f1b3d5a7c9e2
Create Date: 2026-12-04 20:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a3c5e7f9b1d4'
down_revision = 'f1b3d5a7c9e2'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('bookings', sa.Column('confirmation_mailed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('bookings', sa.Column('reminder_mailed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('refunds', sa.Column('notice_mailed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_column('refunds', 'notice_mailed_at')
    op.drop_column('bookings', 'reminder_mailed_at')
    op.drop_column('bookings', 'confirmation_mailed_at')
