"""The seat socket's WebSocket server: simple-websocket's Server, narrowed to a server-to-client protocol.

What it changes, and why (security review: WebSocket memory exhaustion):
- No permessage-deflate. simple-websocket accepts it whenever a client offers it, and wsproto inflates
  without a cap (a 64 KiB frame became 64 MiB). The server sends small JSON, so the offer is dropped
  before the handshake and a compressed frame is then a protocol error (1002).
- No client messages. The protocol has none: the first message (or its first fragment) closes the
  socket with 1008 and is never kept; a message bigger than MAX_MESSAGE_BYTES is cut off with 1009 as
  it arrives. Nothing a client sends is buffered past one read.
- Every write is bounded in time (WS_SEND_TIMEOUT_S): a client that stops reading would otherwise hold
  its handler (and, for pongs, its reader) forever once the socket's buffers fill. A write that cannot
  finish in time shuts the connection down and raises SendTimeout.
- The subprotocol answered is SUBPROTOCOL, never anything else the client offered (a client's
  `bearer.<token>` offer is read by the route and never echoed).
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from typing import Any

from flask import Response
from simple_websocket import ConnectionClosed, Server
from wsproto.events import CloseConnection
from wsproto.utilities import LocalProtocolError

SUBPROTOCOL = "cineverse.v1"
MAX_MESSAGE_BYTES = 256
POLICY_VIOLATION = 1008


class SendTimeout(OSError):
    """A write to a WebSocket did not finish in time: the client stopped reading."""


class BoundedSocket:
    """A connection's socket whose every write finishes within `timeout` seconds or fails.

    Writes are non-blocking sends plus a wait for room (a selector: gevent's own under gevent workers,
    epoll with threads), so reads, which simple-websocket's reader thread does on the same socket, keep
    blocking as before (a socket timeout would time them out too). One lock keeps whole writes from the
    handler and the reader from interleaving. A frame that `try_send` could only write in part keeps its
    rest here, and every later write (the handler's, a snapshot, the reader's pong or close) sends that rest
    first, so nothing is ever written into the middle of a frame.
    """

    def __init__(self, sock: Any, timeout: float) -> None:
        self._sock = sock
        self.timeout = timeout
        self._lock = threading.Lock()
        self.timed_out = False
        self._rest = b""  # the unwritten end of a frame try_send began

    @property
    def unsent(self) -> bool:
        """Whether the end of a frame try_send began is still waiting to be written (by send())."""
        return bool(self._rest)

    def send(self, data: bytes) -> int:
        if self.timed_out:
            raise SendTimeout("the connection was dropped after a write timed out")
        deadline = time.monotonic() + self.timeout
        if not self._lock.acquire(timeout=self.timeout):
            self._give_up()
        try:
            if self._rest:
                data, self._rest = self._rest + data, b""
            view = memoryview(data)
            while view:
                try:
                    sent = self._sock.sendmsg([view], (), socket.MSG_DONTWAIT)
                except BlockingIOError:
                    sent = 0
                view = view[sent:]
                if view and not self._writable(deadline):
                    self._give_up()
        finally:
            self._lock.release()
        return len(data)

    def try_send(self, data: bytes) -> bool:
        """One write that never waits (for the subscriber, which serves every socket of the process).
        True when the frame is the socket's: written whole, or in part with its rest kept to go out before
        any other write (`unsent`); False when nothing went out (busy, full, or a rest still waiting)."""
        if self.timed_out or self._rest or not self._lock.acquire(blocking=False):
            return False
        try:
            sent = self._sock.sendmsg([data], (), socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            sent = 0  # the handler's next write meets the error and ends the connection
        if sent:
            self._rest = bytes(data[sent:])
        self._lock.release()
        return sent > 0

    def _writable(self, deadline: float) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        with selectors.DefaultSelector() as selector:  # looked up per call: gevent patches the module
            selector.register(self._sock, selectors.EVENT_WRITE)
            return bool(selector.select(remaining))

    def _give_up(self) -> None:
        self.timed_out = True
        try:  # wakes the reader thread too (its recv returns) whatever the server type
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise SendTimeout(f"a write did not finish within {self.timeout}s")

    def recv(self, size: int) -> bytes:
        return self._sock.recv(size)  # type: ignore[no-any-return]

    def shutdown(self, how: int) -> None:
        self._sock.shutdown(how)

    def close(self) -> None:
        # The reader closes the socket when the connection is over; werkzeug's server still holds file
        # objects on it, which keep the descriptor (and the connection) open without the shutdown.
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()

    def fileno(self) -> int:
        return self._sock.fileno()  # type: ignore[no-any-return]


class SeatServer(Server):  # type: ignore[misc]
    """simple_websocket.Server for the seat socket (see the module docstring)."""

    # set by simple-websocket's untyped base class
    sock: Any
    environ: dict[str, Any]
    incoming_message: Any

    def __init__(self, environ: dict[str, Any], send_timeout: float) -> None:
        self.send_timeout = send_timeout
        super().__init__(environ, subprotocols=[SUBPROTOCOL], max_message_size=MAX_MESSAGE_BYTES)

    on_closed: Any = None  # called once the reader stops (the connection is over): wakes the handler

    def _thread(self) -> None:
        try:
            super()._thread()
        finally:
            callback = self.on_closed
            if callback is not None:
                callback()

    def handshake(self) -> None:
        # runs before the reader thread starts, so every write of this connection is bounded
        self.sock = BoundedSocket(self.sock, self.send_timeout)
        # the handshake is rebuilt from these headers; without the offer, nothing is negotiated
        self.environ = {k: v for k, v in self.environ.items() if k != "HTTP_SEC_WEBSOCKET_EXTENSIONS"}
        super().handshake()

    def _handle_events(self) -> bool:
        keep_going: bool = super()._handle_events()
        if keep_going and (self.input_buffer or self.incoming_message is not None):
            self.input_buffer.clear()
            self.incoming_message = None
            self.incoming_message_len = 0
            self.connected = False  # the handler stops writing before the close frame goes out
            try:
                self.sock.send(self.ws.send(CloseConnection(POLICY_VIOLATION, "this socket takes no messages")))
            except (OSError, LocalProtocolError):
                pass
            self.close_reason = POLICY_VIOLATION
            self.event.set()
            return False  # the reader stops reading and closes the socket
        return keep_going

    def close_quietly(self, reason: int | None = None) -> None:
        """A close (normal unless `reason` says otherwise) unless the socket is gone already."""
        if self.connected:
            try:
                self.close(reason=reason)
            except (ConnectionClosed, OSError, LocalProtocolError):
                pass
            self.connected = False


class UpgradedResponse(Response):
    """What the view returns once the socket is over: the server already owns (and closed) the connection.

    As flask-sock does it: werkzeug's server still wants a response object, gunicorn's workers are told
    by StopIteration that the request is fully handled.
    """

    def __init__(self, ws: SeatServer) -> None:
        super().__init__()
        self.mode = ws.mode

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.mode == "gunicorn":
            raise StopIteration()
        if self.mode == "werkzeug":
            return super().__call__(environ, start_response)
        return []
