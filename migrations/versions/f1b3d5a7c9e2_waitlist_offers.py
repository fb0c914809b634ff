"""waitlist offers: seats held for the first waiting user whose count fits, for WAITLIST_OFFER_S

Revision ID: f1b3d5a7c9e2
Revises: e7a9c3d1f5b2
Create Date: 2026-12-04 19:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'f1b3d5a7c9e2'
down_revision = 'e7a9c3d1f5b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'waitlist_offers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('showtime_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('seat_labels', sa.JSON(), nullable=False),
        sa.Column('state', sa.Enum('active', 'booked', 'lapsed', 'withdrawn', name='offer_state', native_enum=False,
                                   create_constraint=True, length=24), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('mailed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['showtime_id'], ['showtimes.id'], name=op.f('fk_waitlist_offers_showtime_id_showtimes'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_waitlist_offers_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_offers')),
    )
    op.create_index(op.f('ix_waitlist_offers_showtime_id'), 'waitlist_offers', ['showtime_id'])
    op.create_index(op.f('ix_waitlist_offers_user_id'), 'waitlist_offers', ['user_id'])
    op.create_index('uq_waitlist_offers_active', 'waitlist_offers', ['showtime_id', 'user_id'], unique=True,
                    postgresql_where=sa.text("state = 'active'"), sqlite_where=sa.text("state = 'active'"))


def downgrade():
    op.drop_index('uq_waitlist_offers_active', table_name='waitlist_offers')
    op.drop_index(op.f('ix_waitlist_offers_user_id'), table_name='waitlist_offers')
    op.drop_index(op.f('ix_waitlist_offers_showtime_id'), table_name='waitlist_offers')
    op.drop_table('waitlist_offers')
