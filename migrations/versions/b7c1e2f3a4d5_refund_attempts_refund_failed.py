"""refunds remember their attempts and the gateway's last answer; an order whose refund was refused is
refund_failed

Revision ID: b7c1e2f3a4d5
Revises: d5955aba2532
Create Date: 2026-12-02 18:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b7c1e2f3a4d5'
down_revision = 'd5955aba2532'
branch_labels = None
depends_on = None

OLD_ORDER_STATES = ('created', 'paid', 'booked', 'failed', 'expired', 'refund_pending', 'refunded')
NEW_ORDER_STATES = OLD_ORDER_STATES + ('refund_failed',)



def upgrade():
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('requested_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.String(length=300), nullable=True))
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_orders_order_state'), type_='check')
        batch_op.create_check_constraint(
            batch_op.f('ck_orders_order_state'),
            sa.column('state').in_(NEW_ORDER_STATES))


def downgrade():
    op.execute("UPDATE orders SET state = 'refund_pending' WHERE state = 'refund_failed'")
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_orders_order_state'), type_='check')
        batch_op.create_check_constraint(
            batch_op.f('ck_orders_order_state'),
            sa.column('state').in_(OLD_ORDER_STATES))
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_column('last_error')
        batch_op.drop_column('requested_at')
        batch_op.drop_column('attempts')
