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
