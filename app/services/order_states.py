"""An order's state machine: forward only, so a late payment.failed never undoes a capture."""

from __future__ import annotations

import logging

from app.errors import Conflict
from app.models import Order, OrderState

log = logging.getLogger(__name__)

# A capture may still arrive for a failed or expired order (a second attempt, a slow bank): it is paid,
# then booked or refunded. A refund the gateway refused leaves the order refund_failed until staff retry it.
NEXT: dict[OrderState, set[OrderState]] = {
    OrderState.CREATED: {OrderState.PAID, OrderState.FAILED, OrderState.EXPIRED},
    OrderState.FAILED: {OrderState.PAID, OrderState.EXPIRED},
    OrderState.EXPIRED: {OrderState.PAID},
    OrderState.PAID: {OrderState.BOOKED, OrderState.REFUND_PENDING},
    OrderState.BOOKED: {OrderState.REFUND_PENDING},
    OrderState.REFUND_PENDING: {OrderState.REFUNDED, OrderState.REFUND_FAILED},
    OrderState.REFUND_FAILED: {OrderState.REFUND_PENDING, OrderState.REFUNDED},
    OrderState.REFUNDED: set(),
}


def move(order: Order, state: OrderState) -> None:
    """Move order to state. Raises Conflict `order_state_conflict` for a move the machine does not allow."""
    if state not in NEXT[order.state]:
        raise Conflict(f"Order {order.public_id} cannot go from {order.state.value} to {state.value}.",
                       code="order_state_conflict", details={"order_id": order.public_id,
                                                             "state": order.state.value})
    log.info("order %s %s -> %s", order.public_id, order.state.value, state.value)
    order.state = state
