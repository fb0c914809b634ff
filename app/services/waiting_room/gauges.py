"""The waiting rooms' gauges, read from Redis at each scrape (the queue is Redis's, not a process's)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from redis import RedisError

from app import metrics
from app.services.waiting_room.room import occupancy_of_rooms


class QueueCollector:
    """cineverse_queue_waiting / cineverse_queue_admitted by showtime: the rooms in use (the room index)."""

    def collect(self) -> Iterator[Any]:
        waiting = GaugeMetricFamily("cineverse_queue_waiting", "Buyers waiting in a showtime's waiting room now.",
                                    labels=["showtime_id"])
        admitted = GaugeMetricFamily("cineverse_queue_admitted", "Buyers holding an unexpired queue pass now.",
                                     labels=["showtime_id"])
        try:
            for showtime_id, in_queue, active in occupancy_of_rooms():
                waiting.add_metric([str(showtime_id)], in_queue)
                admitted.add_metric([str(showtime_id)], active)
        except RedisError:
            pass  # the scrape still answers; the gauges are missing until Redis is back
        yield waiting
        yield admitted


metrics.add_live_collector(QueueCollector())
