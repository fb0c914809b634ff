"""Seat event delivery latency to many WebSocket listeners on one showtime, under gunicorn, real Redis.

The listeners run in their own process (one asyncio loop, a minimal RFC 6455 client) so the server is
measured, not the client's threads. The publisher locks one seat per event through the holds service
(the same Lua step a lock request runs: hold + INCR + PUBLISH) and notes the wall-clock time before
the call; each listener notes when the matching event (by version) arrives. Latency = arrival - publish
start, so it includes the Redis step, the subscriber, the per-client queue and the socket write. The
listener process's own parsing delay is included too (the figures are pessimistic). Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import multiprocessing as mp
import os
import struct
import time

from bench.common import gunicorn, percentile, prepare

WORKER_CLASSES = {
    "gevent": ["-c", "app/gunicorn_conf.py", "--workers", "1"],  # the deployed configuration, one process
    "gthread": ["--workers", "1", "--worker-class", "gthread", "--threads", "1100", "--worker-connections",
                "4000", "--timeout", "120"],
}


async def _listener(port: int, path: str, arrivals: list, ready: asyncio.Event, done: asyncio.Event,
                    counter: dict) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    await writer.drain()
    status = await reader.readuntil(b"\r\n\r\n")
    if b" 101 " not in status.split(b"\r\n")[0]:
        raise RuntimeError(status[:200])
    got_snapshot = False
    try:
        while not done.is_set():
            head = await reader.readexactly(2)
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            if length == 126:
                length = struct.unpack("!H", await reader.readexactly(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", await reader.readexactly(8))[0]
            payload = await reader.readexactly(length)
            now = time.time()
            if opcode == 0x9:  # ping -> masked pong
                mask = os.urandom(4)
                body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
                writer.write(bytes([0x8A, 0x80 | len(payload)]) + mask + body)
                continue
            if opcode == 0x8:
                break
            if opcode != 0x1:
                continue
            message = json.loads(payload)
            if message["type"] == "snapshot" and not got_snapshot:
                got_snapshot = True
                counter["ready"] += 1
                if counter["ready"] == counter["total"]:
                    ready.set()
            elif message["type"] == "seat_locked":
                arrivals.append((message["version"], now))
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def _listeners_main(port: int, path: str, count: int, expected: int, conn) -> None:  # type: ignore[no-untyped-def]
    # The forked listeners inherit the bench process's heap (the app, and under `make bench` everything
    # the throughput phase left): a full collection of it stalled every listener at once for about
    # 100 ms, a pause of the measuring instrument and not of the server. Frozen, the collector leaves
    # the inherited objects alone.
    gc.freeze()

    async def main() -> None:
        arrivals: list[list] = [[] for _ in range(count)]
        ready, done = asyncio.Event(), asyncio.Event()
        counter = {"ready": 0, "total": count}
        tasks = []
        for i in range(count):
            tasks.append(asyncio.create_task(_listener(port, path, arrivals[i], ready, done, counter)))
            if i % 50 == 49:
                await asyncio.sleep(0.05)  # do not flood the accept queue
        await asyncio.wait_for(ready.wait(), 120)
        conn.send(("ready", counter["ready"]))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if conn.poll():
                conn.recv()  # the publisher is done; give stragglers a moment
                await asyncio.sleep(1.0)
                break
            if all(len(a) >= expected for a in arrivals):
                break
            await asyncio.sleep(0.05)
        done.set()
        conn.send(("arrivals", arrivals))
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())


def run(listeners: int = 1000, events: int = 20, interval: float = 0.1, worker_class: str = "gevent") -> dict:
    seed = prepare(users=max(1, events // 10 + 1))
    showtime = seed["showtime_id"]
    from app.services.seats import holds

    seats = [f"{'ABCDEFGHIJKL'[n // 18]}{n % 18 + 1}" for n in range(events)]
    # every listener connects from 127.0.0.1: the per-address socket limit would refuse all but a few
    with gunicorn("wsgi:app", *WORKER_CLASSES[worker_class], env={"WS_MAX_PER_IP": "0"}) as port:
        parent, child = mp.Pipe()
        process = mp.get_context("fork").Process(
            target=_listeners_main, args=(port, f"/api/showtimes/{showtime}/seats/ws", listeners, events, child))
        began = time.monotonic()
        process.start()
        kind, connected = parent.recv()
        connect_s = time.monotonic() - began
        published: dict[int, float] = {}
        gc.collect()
        gc.freeze()  # the publisher is part of the instrument too (its clock starts before each lock)
        with seed["app"].app_context():
            for n, seat in enumerate(seats):
                started = time.time()
                result = holds.lock(showtime, seed["user_ids"][n // 10], [seat])
                published[int(result.version or 0)] = started
                time.sleep(interval)
        parent.send("published")
        kind, arrivals = parent.recv()
        process.join(30)
    latencies, lost = [], 0
    per_event: dict[int, list[float]] = {version: [] for version in published}
    for per_listener in arrivals:
        seen = dict(per_listener)
        for version, started in published.items():
            if version in seen:
                latencies.append((seen[version] - started) * 1000)
                per_event[version].append(latencies[-1])
            else:
                lost += 1
    return {"server": "gunicorn wsgi:app " + " ".join(WORKER_CLASSES[worker_class]), "listeners": connected,
            "events": events, "interval_s": interval, "connect_all_s": round(connect_s, 2),
            "deliveries": len(latencies), "lost": lost,
            "p50_ms": round(percentile(latencies, 50), 2), "p90_ms": round(percentile(latencies, 90), 2),
            "p99_ms": round(percentile(latencies, 99), 2), "max_ms": round(max(latencies, default=0), 2),
            # each event's median over the listeners, in publishing order: tells one slow event from a slow tail
            "event_p50_ms": [round(percentile(per_event[v], 50), 1) for v in sorted(per_event)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listeners", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--worker-class", choices=sorted(WORKER_CLASSES), default="gevent")
    ns = parser.parse_args()
    print(json.dumps(run(min(ns.listeners, 5000), min(ns.events, 200), ns.interval, ns.worker_class), indent=2))


if __name__ == "__main__":
    main()
