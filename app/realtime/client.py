"""One WebSocket viewer of one showtime (app.realtime.hub feeds it): its bounded queue, its locked writes,
and the direct write the subscriber makes when nothing of it is queued."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from simple_websocket import ConnectionClosed
from wsproto.events import Ping

_WAKE = (None, b"")  # queue item that only wakes the client's loop


def text_frame(raw: str) -> bytes:
    """One unfragmented, unmasked WebSocket text frame (RFC 6455 5.2) carrying raw: what wsproto would
    write for it on every server connection, so one event is encoded once for all its listeners."""
    payload = raw.encode()
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 1 << 16:
        return bytes((0x81, 126)) + size.to_bytes(2, "big") + payload
    return bytes((0x81, 127)) + size.to_bytes(8, "big") + payload


class Client:
    """One WebSocket viewer of one showtime; every write goes through `send_lock` (flask-sock issue 85).

    An event reaches the socket one of two ways, in version order either way. When nothing of this client
    is queued or being sent, the subscriber writes the event's frame itself, without waiting (`offer`:
    one non-blocking write, no switch to the client's handler); otherwise it goes through the client's
    queue and its handler writes it. `pending` counts queued frames until they are written, so a direct
    write never overtakes a queued one. When the socket takes only part of a frame, the socket itself
    keeps the rest and writes it before anything else (BoundedSocket), and the handler is woken to flush it."""

    def __init__(self, ws: Any, showtime_id: int, viewer: str | None, max_queue: int = 1000) -> None:
        self.ws = ws
        self.showtime_id = showtime_id
        self.viewer = viewer
        self.queue: queue.Queue[tuple[int | None, bytes]] = queue.Queue(maxsize=max_queue)
        self.send_lock = threading.Lock()
        self.version: int | None = None
        self.resync_needed = False
        self.ready = False  # a snapshot went out and no other is being made: direct writes allowed
        self.pending = 0  # frames in the queue or being written by the handler
        self._count_lock = threading.Lock()

    def offer(self, version: int, frame: bytes) -> None:
        if self.ready and not self.resync_needed and self.send_lock.acquire(blocking=False):
            try:
                if self.ready and not self.resync_needed and self.pending == 0:
                    if self.version is not None and version <= self.version:
                        return  # already in the snapshot
                    if self._write_now(frame):
                        self.version = version
                        if getattr(self.ws.sock, "unsent", False):
                            self.wake_anyway()  # the socket took part: the handler writes the rest (flush)
                        return
            finally:
                self.send_lock.release()
        self._enqueue(version, frame)

    def offer_unversioned(self, frame: bytes) -> None:
        """A message outside the seat events' versions (a waiting-list offer), written by the handler in
        its turn among the queued events."""
        self._enqueue(None, frame)

    def _write_now(self, frame: bytes) -> bool:
        """Write without waiting (BoundedSocket.try_send); whether the socket took the frame. Under send_lock."""
        try_send = getattr(self.ws.sock, "try_send", None)
        if try_send is None or not self.ws.connected:
            return False
        return bool(try_send(frame))

    def flush(self) -> None:
        """Write the rest of a frame the subscriber began, if the socket still holds one."""
        if getattr(self.ws.sock, "unsent", False):
            with self.send_lock:
                if not self.ws.connected:
                    raise ConnectionClosed(self.ws.close_reason, self.ws.close_message)
                self.ws.sock.send(b"")

    def _enqueue(self, version: int | None, frame: bytes) -> None:
        with self._count_lock:
            try:
                self.queue.put_nowait((version, frame))
            except queue.Full:
                self.request_resync()
                return
            self.pending += 1

    def written(self) -> None:
        """A frame taken from the queue was written (or skipped)."""
        with self._count_lock:
            self.pending -= 1

    def wake(self) -> None:
        """Wake the handler's loop (the connection closed): it then sees `ws.connected` false."""
        self.wake_anyway()

    def wake_anyway(self) -> None:
        try:
            self.queue.put_nowait(_WAKE)
        except queue.Full:
            pass

    def request_resync(self) -> None:
        self.resync_needed = True
        self.wake_anyway()  # when the queue is full the loop is busy draining; it sees the flag

    def send(self, text: str) -> None:
        with self.send_lock:
            self.ws.send(text)

    def send_frame(self, frame: bytes) -> None:
        """A text frame made by text_frame(), written as simple-websocket's send() writes its own."""
        with self.send_lock:
            if not self.ws.connected:
                raise ConnectionClosed(self.ws.close_reason, self.ws.close_message)
            self.ws.sock.send(frame)

    def write_queued(self, version: int | None, frame: bytes) -> None:
        """Write one frame taken from the queue, unless the snapshot already had it."""
        try:
            if self.version is not None and version is not None and version <= self.version:
                return  # already in the snapshot
            self.send_frame(frame)
            if version is not None:
                self.version = version
        finally:
            self.written()

    def send_snapshot(self, snapshot: Callable[[], tuple[int | None, str]]) -> None:
        """Drop what is queued (older than the snapshot about to be taken), take the snapshot and send it,
        all under send_lock, so no event is written directly while the snapshot is made."""
        with self.send_lock:
            self.ready = False
            self.resync_needed = False
            while True:
                try:
                    _version, frame = self.queue.get_nowait()
                except queue.Empty:
                    break
                if frame:
                    self.written()
            self.version, text = snapshot()
            self.ws.send(text)
            self.ready = True

    def ping(self) -> None:
        """A protocol-level ping (browsers answer it; proxies see traffic), under the same lock."""
        with self.send_lock:
            if not self.ws.connected:
                raise ConnectionClosed()
            self.ws.pong_received = False
            # simple-websocket 1.1 has no public ping(); its own ping_interval would write from another thread
            self.ws.sock.send(self.ws.ws.send(Ping(b"cineverse")))

    def close(self, reason: int | None = None, message: str | None = None) -> None:
        with self.send_lock:
            try:
                self.ws.close(reason=reason, message=message)
            except (ConnectionClosed, OSError):
                pass
