"""Seat sockets open at once per client address, counted across every web process (WS_MAX_PER_IP).

Each open socket holds a slot: a member of the address's sorted set in Redis, scored with the time its
lease runs out. The socket renews its lease while it lives (every lease/3) and removes it when it ends;
a worker that dies removes nothing, so its slots simply lapse: admission drops lapsed members before it
counts. The lease is three heartbeats (WS_HEARTBEAT_S), so a killed worker's sockets stop counting
within a minute or two by default.

The address is `remote_address()`: the socket's peer, or the forwarded client only behind a configured
proxy (TRUSTED_PROXY_HOPS). When Redis cannot be reached the socket is let in uncounted: the seat map
works without Redis (a snapshot from the database), and the limit is not worth taking it down.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from dataclasses import dataclass, field

import redis
from flask import Flask, current_app

from app.extensions import get_redis

log = logging.getLogger(__name__)


def lease_s(app: Flask) -> float:
    """How long a slot lasts without being renewed."""
    return 3 * float(app.config.get("WS_HEARTBEAT_S", 25))


@dataclass
class Slot:
    """One socket's place in its address's count; `client` None when it is not counted."""

    key: str
    member: str
    lease: float
    client: redis.Redis | None
    renewed: float = field(default_factory=time.monotonic)

    def renew_if_due(self) -> None:
        """Push the lease out again once a third of it has passed (cheap to call on every loop)."""
        now = time.monotonic()
        if self.client is None or now - self.renewed < self.lease / 3:
            return
        self.renewed = now
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.zadd(self.key, {self.member: time.time() + self.lease})  # re-adds it after a Redis restart
            pipe.expire(self.key, math.ceil(self.lease) + 1)
            pipe.execute()
        except redis.RedisError as exc:
            log.debug("could not renew a websocket slot of %s: %s", self.key, exc)

    def release(self) -> None:
        if self.client is None:
            return
        try:
            self.client.zrem(self.key, self.member)
        except redis.RedisError as exc:  # it lapses by itself
            log.debug("could not release a websocket slot of %s: %s", self.key, exc)


def acquire(address: str) -> Slot | None:
    """A slot for one more seat socket from address, or None when it holds WS_MAX_PER_IP already.

    Needs an app context. An uncounted slot when the limit is off (0) or Redis is unavailable.
    """
    app = current_app
    limit = int(app.config.get("WS_MAX_PER_IP", 0))
    lease = lease_s(app)
    key = f"{app.config['SEAT_LOCK_PREFIX']}:ws:ip:{address}"
    member = uuid.uuid4().hex
    if limit <= 0:
        return Slot(key, member, lease, None)
    client = get_redis()
    now = time.time()
    try:
        pipe = client.pipeline(transaction=True)
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.zadd(key, {member: now + lease})
        pipe.zcard(key)
        pipe.expire(key, math.ceil(lease) + 1)
        count = pipe.execute()[2]
        if count > limit:  # two sockets racing for the last slot may both be refused; never both let in
            client.zrem(key, member)
            return None
    except redis.RedisError as exc:
        log.warning("websocket slots unavailable (%s); letting a socket of %s in uncounted", exc, address)
        return Slot(key, member, lease, None)
    return Slot(key, member, lease, client)
