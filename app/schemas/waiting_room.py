"""Waiting room schemas: the staff settings of a showtime's on-sale and a buyer's place in its queue."""

from __future__ import annotations

from datetime import datetime, timezone

from marshmallow import Schema, fields, validate


class WaitingRoomSettingsSchema(Schema):
    """PUT body: every setting, each one required (a PUT replaces the whole)."""

    enabled = fields.Boolean(required=True, truthy={True}, falsy={False},
                             metadata={"description": "holding seats needs a queue pass"})
    active_limit = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=100_000),
                                  metadata={"description": "buyers holding an unexpired pass at once"})
    sales_open_at = fields.AwareDateTime(required=True, allow_none=True, format="iso",
                                         validate=validate.Range(min=datetime(2000, 1, 1, tzinfo=timezone.utc)),
                                         metadata={"description": "nobody holds seats before it; arrivals "
                                                                  "before it are shuffled at the opening"})
    pass_ttl_s = fields.Integer(required=True, strict=True, validate=validate.Range(min=60, max=7200),
                                metadata={"description": "how long a pass lasts, seconds"})


class WaitingRoomSchema(WaitingRoomSettingsSchema):
    showtime_id = fields.Integer()
    updated_at = fields.AwareDateTime(format="iso", allow_none=True)
    waiting = fields.Integer(allow_none=True, metadata={"description": "in the queue now (null: Redis down)"})
    active = fields.Integer(allow_none=True, metadata={"description": "holding an unexpired pass now"})


class QueueStateSchema(Schema):
    state = fields.String(metadata={"description": "admitted, waiting or pre_queue"})
    pass_ = fields.String(data_key="pass", attribute="pass",
                          metadata={"description": "admitted: send it as X-Queue-Pass to lock, extend, order"})
    pass_expires_at = fields.AwareDateTime(format="iso")
    position = fields.Integer(metadata={"description": "waiting: 1 is next"})
    estimated_wait_s = fields.Integer()
    ticket = fields.String(metadata={"description": "your place in the queue (grants nothing)"})
    opens_at = fields.AwareDateTime(format="iso", metadata={"description": "pre_queue: when the sale opens"})
