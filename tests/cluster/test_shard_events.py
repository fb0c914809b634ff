"""Seat events on a Redis Cluster travel on each showtime's shard channel (SPUBLISH in the hold scripts,
SSUBSCRIBE by the process's subscriber, app/realtime/shards.py), and a socket keeps receiving them when
its showtime's slot moves to another master."""

from __future__ import annotations

import json

import redis
from flask_jwt_extended import create_access_token

from app.realtime.hub import get_hub
from app.services.seats import holds
from app.services.seats.keys import events_channel
from tests.factories import make_showtime, make_user
from tests.realtime.helpers import connect, receive, receive_until, serve_in_thread, wait_for


def _shard_subscribers(cluster, port: int, channel: str) -> int:
    return int(redis.Redis(port=port).execute_command("PUBSUB", "SHARDNUMSUB", channel)[1])


def test_seat_events_go_to_the_showtimes_shard_channel(capp, cluster):
    showtime = make_showtime()
    channel = events_channel(showtime.id)
    assert channel.endswith(f"{{st:{showtime.id}}}:events")
    owner = cluster.owner(capp.extensions["redis"].keyslot(channel))
    sharded = redis.Redis(port=owner).pubsub()
    sharded.ssubscribe(channel)
    assert sharded.get_message(timeout=2)["type"] == "ssubscribe"
    classic = [redis.Redis(port=p).pubsub() for p in cluster.ports]
    for listener in classic:
        listener.subscribe(f"{capp.config['SEAT_LOCK_PREFIX']}:events")  # the single Redis's channel
        listener.get_message(timeout=2)

    holds.lock(showtime.id, str(make_user().id), ["E1"])

    message = sharded.get_message(timeout=2)
    assert message["type"] == "smessage"
    event = json.loads(message["data"])
    assert (event["type"], event["showtime_id"], event["seat_ids"]) == ("seat_locked", showtime.id, ["E1"])
    assert all(listener.get_message(timeout=0.2) is None for listener in classic)  # nothing broadcast


def test_a_socket_follows_its_showtimes_slot_when_it_moves(capp, cluster):
    showtime = make_showtime()
    user = make_user()
    token = create_access_token(identity=str(user.id))
    channel = events_channel(showtime.id)
    slot = capp.extensions["redis"].keyslot(channel)
    hub = get_hub(capp)
    assert hub.shards is not None
    with serve_in_thread(capp) as port:
        ws = connect(port, showtime.id, token)
        try:
            assert receive(ws)["type"] == "snapshot"
            holds.lock(showtime.id, str(user.id), ["F1"])
            assert receive(ws)["seat_ids"] == ["F1"]
            source = cluster.owner(slot)
            assert _shard_subscribers(cluster, source, channel) == 1

            target = next(p for p in cluster.ports[:3] if p != source and _is_master(p))
            cluster.move_slot(slot, target)

            # the server unsubscribed the channel with the slot; the subscriber follows it and the socket,
            # which may have missed events meanwhile, gets a fresh snapshot that still shows F1 locked
            fresh = receive_until(ws, lambda m: m["type"] == "snapshot", timeout=15)[-1]
            assert {s["id"]: s["status"] for s in fresh["seats"]}["F1"] == "locked"
            wait_for(lambda: _shard_subscribers(cluster, target, channel) == 1, timeout=5)
            assert _shard_subscribers(cluster, source, channel) == 0
            assert hub.shards.resubscriptions >= 1

            holds.lock(showtime.id, str(user.id), ["F2"])
            event = receive_until(ws, lambda m: m["type"] == "seat_locked", timeout=5)[-1]
            assert event["seat_ids"] == ["F2"] and event["version"] > fresh["version"]
        finally:
            ws.close()
        # the last socket of the showtime gone, the process stops following it
        wait_for(lambda: not hub.shards.following(), timeout=5)
        wait_for(lambda: _shard_subscribers(cluster, cluster.owner(slot), channel) == 0, timeout=5)
    hub.stop()


def _is_master(port: int) -> bool:
    return redis.Redis(port=port).info("replication")["role"] == "master"


def test_a_showtime_followed_again_at_once_is_confirmed_again(capp):
    """The last socket leaves and a new one arrives before the subscriber applied the leave: the new one
    still gets its subscription confirmed (not the 2 s wait of an unconfirmed follow)."""
    showtime = make_showtime()
    shards = get_hub(capp).shards
    try:
        assert shards.follow(showtime.id, 5)
        for _ in range(5):
            shards.unfollow(showtime.id)
            assert shards.follow(showtime.id, 5)
        assert shards.confirmed(showtime.id)
    finally:
        shards.unfollow(showtime.id)
        get_hub(capp).stop()
