"""The seat and queue events on a Redis Cluster: each showtime's events on a shard channel of its own
(`P:{st:N}:events`, in the slot of the showtime's keys; the scripts SPUBLISH there), read with SSUBSCRIBE
from the master that owns the slot, and followed when the slot moves.

One reader thread per master with a followed channel blocks on that master's pub/sub connection, so an
event is read the moment it arrives (redis-py's ClusterPubSub.get_sharded_message polls its nodes in
turn, each with the timeout, so an event would wait behind the other nodes' polls). A single control
thread sends every SSUBSCRIBE and SUNSUBSCRIBE; readers only read and report.

A channel is lost when its master's connection fails (a failover) or the server unsubscribes it (the slot
moved: Redis sends `sunsubscribe` then). The control thread then refreshes the slot map and subscribes the
channel on its new owner, retrying with a capped backoff while the slot has no master; once that is
confirmed, `on_resubscribed(showtime_id)` tells the hub its clients may have missed events.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import redis
from redis.cluster import RedisCluster

log = logging.getLogger(__name__)


class _Reader:
    """One master's pub/sub connection and the thread reading it."""

    def __init__(self, owner: ShardSubscriber, name: str, pubsub: redis.client.PubSub) -> None:
        self.owner = owner
        self.name = name
        self.pubsub = pubsub
        self.channels: set[str] = set()  # subscribed (or being subscribed) here
        self.dead = False
        self.thread = threading.Thread(target=self._run, name=f"seat-events-{name}", daemon=True)

    def _run(self) -> None:
        try:
            while not self.dead and not self.owner.stopping.is_set():
                message = self.pubsub.get_message(timeout=1.0)
                if message is not None:
                    try:
                        self.owner.on_message(self, message)
                    except Exception:  # one bad message must not cost the master's every subscription
                        log.exception("seat events: a message from %s could not be handled", self.name)
        except Exception as exc:  # noqa: BLE001  (any failure: the channels move to a new connection)
            self.owner.on_reader_failed(self, exc)


class ShardSubscriber:
    """Which showtimes this process follows, and the shard subscriptions that carry their events."""

    def __init__(self, cluster: RedisCluster, channel_of: Callable[[int], str], on_event: Callable[[str], None],
                 on_resubscribed: Callable[[int], None]) -> None:
        self.cluster = cluster
        self.channel_of = channel_of
        self.on_event = on_event
        self.on_resubscribed = on_resubscribed
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._wanted: dict[str, int] = {}  # channel -> showtime id, while anyone here follows it
        self._counts: dict[int, int] = {}  # showtime id -> followers in this process
        self._confirmed: dict[str, threading.Event] = {}
        self._lost: set[str] = set()  # channels whose events may have been missed until (re)confirmed
        self._seen: set[str] = set()  # channels confirmed at least once
        self._todo: set[str] = set()  # channels to (re)subscribe or drop
        self._refresh = False  # the slot map must be re-read before the next subscription
        self._readers: dict[str, _Reader] = {}
        self._home: dict[str, _Reader] = {}  # channel -> the reader it is subscribed on
        self._control: threading.Thread | None = None
        self.resubscriptions = 0

    # ---- followers ----
    def follow(self, showtime_id: int, wait: float) -> bool:
        """Follow a showtime's events; whether its subscription was confirmed within `wait` seconds (if not,
        the hub re-syncs its clients once it is)."""
        channel = self.channel_of(showtime_id)
        with self._lock:
            self._counts[showtime_id] = self._counts.get(showtime_id, 0) + 1
            confirmed = self._confirmed.setdefault(channel, threading.Event())
            if channel not in self._wanted:
                self._wanted[channel] = showtime_id
                self._lost.add(channel)  # until confirmed: events may be missed
                self._todo.add(channel)
        self._start()
        self._wake.set()
        return confirmed.wait(wait)

    def unfollow(self, showtime_id: int) -> None:
        channel = self.channel_of(showtime_id)
        with self._lock:
            left = self._counts.get(showtime_id, 0) - 1
            if left > 0:
                self._counts[showtime_id] = left
                return
            self._counts.pop(showtime_id, None)
            self._wanted.pop(channel, None)
            self._confirmed.pop(channel, None)
            self._lost.discard(channel)
            self._seen.discard(channel)
            self._todo.add(channel)
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._control is not None and self._control.is_alive()

    def following(self) -> list[int]:
        with self._lock:
            return list(self._counts)

    def confirmed(self, showtime_id: int) -> bool:
        event = self._confirmed.get(self.channel_of(showtime_id))
        return event is not None and event.is_set()

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        self._wake.set()
        control = self._control
        if control is not None:
            control.join(timeout)
        for reader in list(self._readers.values()):
            self._drop_reader(reader)

    # ---- what the readers report ----
    def on_message(self, reader: _Reader, message: dict) -> None:
        kind = message["type"]
        channel = message["channel"]
        channel = channel.decode() if isinstance(channel, bytes) else channel
        if kind == "smessage":
            data = message["data"]
            self.on_event(data.decode() if isinstance(data, bytes) else data)
        elif kind == "ssubscribe":
            with self._lock:
                showtime_id = self._wanted.get(channel)
                event = self._confirmed.get(channel)
                was_lost = channel in self._lost
                again = channel in self._seen
                self._lost.discard(channel)
                self._seen.add(channel)
            if event is not None:
                event.set()
            if showtime_id is not None and was_lost:
                if again:
                    self.resubscriptions += 1
                self.on_resubscribed(showtime_id)
        elif kind == "sunsubscribe":
            with self._lock:
                if self._home.get(channel) is reader and channel in self._wanted:
                    # not asked for: the slot moved (or was deleted); subscribe where it is now
                    log.info("shard channel %s unsubscribed by %s; following its slot", channel, reader.name)
                    self._lose(channel)
                    self._refresh = True
                reader.channels.discard(channel)
                reader.pubsub.shard_channels.pop(channel.encode(), None)  # so a reconnect does not re-ask
                reader.pubsub.shard_channels.pop(channel, None)
            self._wake.set()

    def on_reader_failed(self, reader: _Reader, exc: Exception) -> None:
        if not reader.dead and not self.stopping.is_set():
            log.warning("seat events lost master %s (%s); moving its channels", reader.name, exc)
        with self._lock:
            self._forget_reader(reader)
        self._wake.set()

    # ---- the control thread ----
    def _start(self) -> None:
        with self._lock:
            if self._control is not None and self._control.is_alive():
                return
            self.stopping.clear()
            self._control = threading.Thread(target=self._run, name="seat-events-shards", daemon=True)
            self._control.start()

    def _run(self) -> None:
        backoff = 0.2
        while not self.stopping.is_set():
            self._wake.wait(backoff if self._todo else 5.0)
            self._wake.clear()
            if self.stopping.is_set():
                return
            try:
                self._apply()
                backoff = 0.2
            except Exception as exc:  # noqa: BLE001  (no master for a slot yet, a node gone: retry)
                log.info("seat events subscriptions pending (%s); retrying", exc)
                with self._lock:
                    self._refresh = True
                backoff = min(backoff * 2, 2.0)

    def _apply(self) -> None:
        with self._lock:
            refresh, self._refresh = self._refresh, False
            todo, self._todo = list(self._todo), set()  # a change made meanwhile comes back as a new item
        if refresh:
            try:
                self.cluster.nodes_manager.initialize()
            except Exception:
                with self._lock:
                    self._todo.update(todo)
                raise
        failed: Exception | None = None
        for channel in todo:  # one channel's trouble (its slot without a master) holds up no other
            try:
                self._apply_one(channel)
            except Exception as exc:  # noqa: BLE001  (retried after the backoff, with a fresh slot map)
                failed = exc
                with self._lock:
                    self._todo.add(channel)
        if failed is not None:
            raise failed

    def _apply_one(self, channel: str) -> None:
        with self._lock:
            wanted = channel in self._wanted
            home = self._home.get(channel)
            confirmed = self._confirmed.get(channel)
        if wanted and (home is None or home.dead):
            self._subscribe(channel)
        elif wanted and home is not None and confirmed is not None and not confirmed.is_set():
            home.pubsub.ssubscribe(channel)  # followed again before its unfollow was applied: confirm anew
        elif not wanted and home is not None:
            with self._lock:
                self._home.pop(channel, None)
                home.channels.discard(channel)
            if not home.dead:
                home.pubsub.sunsubscribe(channel)

    def _subscribe(self, channel: str) -> None:
        node = self.cluster.get_node_from_key(channel)  # the slot's master; SlotNotCoveredError if none
        with self._lock:
            reader = self._readers.get(node.name)
            if reader is None or reader.dead:
                reader = _Reader(self, node.name, self.cluster.get_redis_connection(node).pubsub())
                self._readers[node.name] = reader
            # registered before the SSUBSCRIBE goes out: a reader failing from now on loses this channel too,
            # and a `sunsubscribe` read before we get back is seen as one for a channel homed here
            reader.channels.add(channel)
            self._home[channel] = reader
        try:
            reader.pubsub.ssubscribe(channel)
        except Exception:
            with self._lock:
                self._forget_reader(reader)
            raise
        with self._lock:
            dead = reader.dead
        if dead:  # it failed while we sent: _forget_reader lost the channel (it is retried); drop the connection
            try:
                reader.pubsub.close()
            except Exception:  # noqa: S110
                pass
            return
        if not reader.thread.is_alive():
            try:
                reader.thread.start()
            except RuntimeError:  # started meanwhile by another subscription on this master
                pass

    # ---- bookkeeping, under _lock ----
    def _lose(self, channel: str) -> None:
        self._home.pop(channel, None)
        event = self._confirmed.get(channel)
        if event is not None:
            event.clear()
        self._lost.add(channel)
        self._todo.add(channel)

    def _forget_reader(self, reader: _Reader) -> None:
        reader.dead = True
        if self._readers.get(reader.name) is reader:
            del self._readers[reader.name]
        for channel in list(reader.channels):
            if self._home.get(channel) is reader:
                if channel in self._wanted:
                    self._lose(channel)
                else:
                    self._home.pop(channel, None)
        reader.channels.clear()
        self._refresh = True
        try:
            reader.pubsub.close()
        except Exception:  # noqa: S110  (closing a dead connection)
            pass

    def _drop_reader(self, reader: _Reader) -> None:
        with self._lock:
            self._forget_reader(reader)
