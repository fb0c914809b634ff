"""Loaded only into the worker of the webhook-kill test (celery worker --include): the first confirmation
of each order, its booking flushed but not committed, marks itself in Redis with the process id and waits
to be killed; a later delivery goes straight through."""

from __future__ import annotations

import os
import time
from typing import Any

from app.extensions import get_redis
from app.services import orders

_confirm = orders.confirm_payment


def marker(gateway_order_id: str) -> str:
    return f"test-webhook-kill:{gateway_order_id}"


def _confirm_then_wait(gateway_order_id: str, *args: Any, **kwargs: Any) -> Any:
    outcome = _confirm(gateway_order_id, *args, **kwargs)
    client = get_redis()
    if int(client.incr(marker(gateway_order_id))) == 1:
        client.set(marker(gateway_order_id) + ":pid", os.getpid())
        time.sleep(60)  # SIGKILLed here, inside the transaction
    return outcome


# Only inside the worker that the test starts with this variable: importing the module elsewhere (the
# test itself reads `marker`) must never slow a confirmation down.
if os.environ.get("CINEVERSE_TEST_SLOW_WEBHOOK") == "1":
    orders.confirm_payment = _confirm_then_wait
