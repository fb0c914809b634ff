"""Seat events are encoded once per event for every listener (hub.text_frame); each frame must be what
wsproto writes for that message on a server connection."""

from __future__ import annotations

import pytest
from wsproto.connection import Connection, ConnectionType
from wsproto.events import TextMessage

from app.realtime.hub import text_frame


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 200_000])
def test_a_frame_is_what_wsproto_writes(size):
    raw = ('{"type":"seat_locked","seat_ids":["A1"],"pad":"' + "x" * size + '"}')
    connection = Connection(ConnectionType.SERVER)
    assert text_frame(raw) == connection.send(TextMessage(data=raw))


def test_a_frame_reads_back_as_the_message():
    reader = Connection(ConnectionType.CLIENT)
    reader.receive_data(text_frame('{"type":"seat_released","seat_ids":["B2"],"version":7,"é":"€"}'))
    [message] = list(reader.events())
    assert isinstance(message, TextMessage) and message.data.endswith('"é":"€"}') and message.message_finished


class _Sock:
    """BoundedSocket's contract: a non-blocking write takes `room` bytes (None: everything) and keeps the
    rest of a frame it began, which every later send() writes first."""

    def __init__(self) -> None:
        self.wire = b""
        self.room: int | None = None
        self.rest = b""

    @property
    def unsent(self) -> bool:
        return bool(self.rest)

    def try_send(self, data: bytes) -> bool:
        if self.rest or self.room == 0:
            return False
        taken = data if self.room is None else data[: self.room]
        self.wire += taken
        self.rest = data[len(taken):]
        return True

    def send(self, data: bytes) -> int:
        self.wire += self.rest + data
        self.rest = b""
        return len(data)


class _WS:
    def __init__(self) -> None:
        self.sock = _Sock()
        self.connected = True

    def send(self, text: str) -> None:
        self.sock.send(text_frame(text))


def _drain(client) -> None:
    """What serve() does with each queued item."""
    while not client.queue.empty():
        version, frame = client.queue.get_nowait()
        if frame:
            client.write_queued(version, frame)
        else:
            client.flush()


def test_events_are_written_directly_in_order_and_never_overtake_a_queued_frame():
    from app.realtime.hub import Client

    ws = _WS()
    client = Client(ws, 1, None)
    client.offer(3, text_frame("early"))  # before the snapshot: queued, never written directly
    assert ws.sock.wire == b"" and client.pending == 1
    client.send_snapshot(lambda: (5, "snapshot"))
    assert ws.sock.wire == text_frame("snapshot") and client.pending == 0 and client.queue.empty()
    client.offer(4, text_frame("old"))  # already in the snapshot
    client.offer(6, text_frame("six"))  # written by the subscriber itself
    assert ws.sock.wire == text_frame("snapshot") + text_frame("six") and client.queue.empty()
    ws.sock.room = 3  # the socket takes part of the next frame
    client.offer(7, text_frame("seven"))
    client.offer(8, text_frame("eight"))  # must wait behind the rest of seven
    ws.sock.room = None
    client.offer(9, text_frame("nine"))
    assert client.pending == 2 and ws.sock.unsent  # eight and nine queued; seven's rest kept by the socket
    _drain(client)
    assert ws.sock.wire == b"".join(text_frame(t) for t in ("snapshot", "six", "seven", "eight", "nine"))
    assert client.pending == 0 and client.version == 9
    client.offer(10, text_frame("ten"))  # the queue is empty again: direct
    assert ws.sock.wire.endswith(text_frame("ten")) and client.queue.empty()


def test_nothing_is_written_into_the_middle_of_a_frame_the_subscriber_began():
    """The rest of a partly written frame goes out before a snapshot and before the reader's pong."""
    from app.realtime.hub import Client

    ws = _WS()
    client = Client(ws, 1, None)
    client.send_snapshot(lambda: (1, "snapshot"))
    ws.sock.room = 4
    client.offer(2, text_frame("two, long enough to be cut"))
    client.request_resync()  # e.g. the subscriber reconnected: a fresh snapshot follows
    client.send_snapshot(lambda: (2, "again"))
    ws.sock.room = 2
    client.offer(3, text_frame("three"))
    ws.sock.send(b"PONG")  # what simple-websocket's reader writes on its own
    assert ws.sock.wire == (text_frame("snapshot") + text_frame("two, long enough to be cut") + text_frame("again")
                            + text_frame("three") + b"PONG")


def test_the_bounded_socket_keeps_the_rest_of_a_frame_for_the_next_write():
    import socket as socket_module

    from app.realtime.server import BoundedSocket

    class Raw:
        def __init__(self) -> None:
            self.wire = b""
            self.room: int | None = 3

        def sendmsg(self, buffers, _ancillary, _flags):
            data = bytes(buffers[0])
            taken = data if self.room is None else data[: self.room]
            self.wire += taken
            return len(taken)

    raw = Raw()
    sock = BoundedSocket(raw, timeout=1.0)
    assert sock.try_send(b"frame-one") and sock.unsent and raw.wire == b"fra"
    assert not sock.try_send(b"frame-two")  # never beside a rest still waiting
    raw.room = None
    sock.send(b"pong")
    assert raw.wire == b"frame-onepong" and not sock.unsent
    raw.room = 0
    assert not sock.try_send(b"x") and not sock.unsent
    assert socket_module.MSG_DONTWAIT  # the flag the real writes use
