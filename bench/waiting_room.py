"""Issue 13's waiting-room scenario: 2,000 signed-in buyers arrive within 10 s at a showtime whose waiting
room lets 100 choose at a time, and each buys a seat once admitted.

Server: the real app under `gunicorn -c app/gunicorn_conf.py --workers 2` (gevent), the dev gateway; no
Celery worker (a purchase gives its place back in its own request; the beat task is for expired passes
and openings, which this run has none of). The showtime is on a screen of 26 rows x 78 seats (2,028, more
than the buyers: the bench writes that layout directly, past the staff form's 60-per-row limit, so that
every admitted buyer can buy). The room: enabled, active_limit 100, open now, pass 600 s. All buyers come
from one address, so the per-address limits are raised for the run (RATE_LIMIT_QUEUE_PER_IP,
WS_MAX_PER_IP); the per-account limit stays as configured.

Client: forked processes, each an asyncio loop; buyer i arrives at i x 10 s / buyers (open loop: on its
schedule whatever the server does). A buyer POSTs /queue; admitted (200) it buys at once, waiting (202) it
opens the queue socket (`bearer.` subprotocol) and waits for `admitted`, then buys: lock seat number i
(no contention: this scenario is about the queue), create-order and verify with X-Queue-Pass, the dev
checkout in between. Measured:
- every answer's status (0 5xx is the target) and how many admitted buyers completed the purchase;
- admission order against arrival order: each admission's time is its pass's expiry less the pass TTL
  (the server's clock, ms), each buyer's place the number in its queue ticket (2^48 + arrival number);
  `order_inversions` counts admitted pairs whose order disagrees with their places;
- the delay from a free place to the next buyer's `admitted` push: a place frees inside the request that
  books (orders.confirm_payment gives it back after the commit) and the admission is made in that same
  step, so the delay is the push's arrival at the buyer less the admission instant (same machine clock).

    .venv/bin/python -m bench.waiting_room --buyers 2000 --arrival-s 10 --active-limit 100
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import multiprocessing as mp
import os
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

import requests

from bench.common import gunicorn, percentile, prepare, stdout_to_stderr
from bench.sellout import SERVER_ARGS, Connection, Tally, _step
from bench.ws_latency import cpu_seconds, gunicorn_workers, raise_nofile

ROWS, PER_ROW = 26, 78
PASS_TTL_S = 600


async def _queue_socket(port: int, showtime: int, token: str, timeout: float) -> tuple[dict | None, float | None, str]:
    """Open the queue socket and wait for `admitted`; (message, arrival wall time, how it ended)."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 16)
    except OSError as exc:
        return None, None, f"connect {type(exc).__name__}"
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /api/showtimes/{showtime}/queue/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  f"Sec-WebSocket-Protocol: cineverse.v1, bearer.{token}\r\n\r\n").encode())
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            return None, None, "handshake " + head.split(b"\r\n", 1)[0].decode(errors="replace")
        deadline = time.monotonic() + timeout
        while True:
            first = await asyncio.wait_for(reader.readexactly(2), max(0.1, deadline - time.monotonic()))
            opcode, size = first[0] & 0x0F, first[1] & 0x7F
            if size == 126:
                size = int.from_bytes(await reader.readexactly(2), "big")
            elif size == 127:
                size = int.from_bytes(await reader.readexactly(8), "big")
            payload = await reader.readexactly(size)
            if opcode == 0x8:
                return None, None, "closed before admitted"
            if opcode != 0x1:
                continue  # a ping: the server does not need the pong within this run
            message = json.loads(payload)
            if message.get("type") == "admitted":
                return message, time.time(), "admitted"
            if message.get("type") == "error":
                return None, None, "error " + message["error"]["code"]
    except (TimeoutError, asyncio.IncompleteReadError, OSError) as exc:
        return None, None, type(exc).__name__
    finally:
        writer.close()


async def _buyer(tally: Tally, out: dict, port: int, token: str, showtime: int, seat: str, at: float,
                 timeout: float) -> None:
    await asyncio.sleep(max(0.0, at - time.time()))
    conn = Connection(port, token)
    status, answer = 0, None
    for tries in range(6):
        status, headers, answer = await tally.call(conn, "join", "POST", f"/api/showtimes/{showtime}/queue")
        if status in (200, 202):
            break
        await asyncio.sleep(0.5 * (tries + 1))
    if status not in (200, 202):
        out["ends"][f"join {status}"] += 1
        conn.close()
        return
    place = int(answer["ticket"].split(".")[3]) if answer.get("ticket") else None
    pushed_at = None
    if status == 202:
        message, pushed_at, how = await _queue_socket(port, showtime, token, timeout)
        if message is None:
            out["ends"][f"socket: {how}"] += 1
            conn.close()
            return
        answer = message
    queue_pass, expires = answer["pass"], answer["pass_expires_at"]
    admitted_ms = datetime.fromisoformat(expires).timestamp() * 1000 - PASS_TTL_S * 1000
    out["admissions"].append((admitted_ms, place, pushed_at))
    extra = f"X-Queue-Pass: {queue_pass}\r\n"
    locked = await _step_with(tally, conn, "lock", f"/api/showtimes/{showtime}/redis-lock-seats",
                              {"seat_ids": [seat]}, 200, extra)
    if locked[0] != 200:
        out["ends"][f"lock {locked[0]}"] += 1
        conn.close()
        return
    status, order = await _step_with(tally, conn, "create_order", "/api/payments/create-order",
                                     {"showtime_id": showtime, "seat_ids": [seat]}, 201, extra)
    if status != 201:
        out["ends"][f"create_order {status}"] += 1
        conn.close()
        return
    status, paid = await _step(tally, conn, "checkout", "/api/payments/dev/checkout",
                               {"razorpay_order_id": order["gateway_order_id"], "outcome": "success"}, 200)
    if status != 200:
        out["ends"][f"checkout {status}"] += 1
        conn.close()
        return
    status, result = await _step(tally, conn, "verify", "/api/payments/verify", {
        "razorpay_order_id": order["gateway_order_id"], "razorpay_payment_id": paid["razorpay_payment_id"],
        "razorpay_signature": paid["razorpay_signature"]}, 200)
    conn.close()
    if status == 200 and result["status"] == "booked":
        out["ends"]["booked"] += 1
        out["booked_at"].append(time.time())
    else:
        out["ends"][f"verify {status} {result.get('status') if isinstance(result, dict) else ''}"] += 1


async def _step_with(tally: Tally, conn: Connection, step: str, path: str, body: Any, ok: int, extra: str
                     ) -> tuple[int, Any]:
    status, answer = 0, None
    for tries in range(6):
        status, _headers, answer = await tally.call(conn, step, "POST", path, body, extra)
        if status == ok or not (status == 0 or status >= 500):
            break
        await asyncio.sleep(0.2 * (tries + 1))
    return status, answer


def _client_main(port: int, showtime: int, buyers: list[tuple[str, str, float]], timeout: float, conn: Any) -> None:
    gc.freeze()
    tally = Tally()
    out: dict[str, Any] = {"ends": Counter(), "admissions": [], "booked_at": []}

    async def main() -> None:
        await asyncio.gather(*(_buyer(tally, out, port, token, showtime, seat, at, timeout)
                               for token, seat, at in buyers))

    conn.send("ready")
    start = conn.recv()
    buyers = [(token, seat, start + at) for token, seat, at in buyers]
    asyncio.run(main())
    conn.send({"codes": {k: dict(v) for k, v in tally.codes.items()}, "ends": dict(out["ends"]),
               "admissions": out["admissions"], "booked_at": out["booked_at"],
               "latency": {k: v for k, v in tally.latency_ms.items()}})


def _setup(data: dict, active_limit: int) -> int:
    """A showtime on a 26 x 78 screen, and its waiting room."""
    from app.extensions import db
    from app.models import Movie, Screen, Theatre, WaitingRoom
    from app.services.catalogue import schedule_showtime
    from app.services.layouts import ROW_LETTERS

    app = data["app"]
    with app.app_context():
        rows = list(ROW_LETTERS[:ROWS])
        layout = {"rows": rows, "seats_per_row": PER_ROW, "accessible": [], "companion": [], "missing": [],
                  "sections": [{"name": "regular", "label": "Regular", "rows": rows, "price": 20_000}]}
        theatre = Theatre(name="Queue Theatre", city="Bengaluru")
        screen = Screen(theatre=theatre, name="Big screen", layout=layout)
        movie = db.session.scalar(db.select(Movie).limit(1))
        db.session.add_all([theatre, screen])
        db.session.flush()
        showtime = schedule_showtime(movie, screen, datetime.now(timezone.utc) + timedelta(days=2))
        db.session.flush()
        db.session.add(WaitingRoom(showtime_id=showtime.id, enabled=True, active_limit=active_limit,
                                   sales_open_at=None, pass_ttl_s=PASS_TTL_S))
        db.session.commit()
        showtime_id = showtime.id
        db.session.remove()
    return showtime_id


def run(buyers: int = 2000, arrival_s: float = 10.0, active_limit: int = 100, processes: int = 2,
        timeout: float = 180.0) -> dict:
    raise_nofile()
    data = prepare(users=buyers)
    showtime = _setup(data, active_limit)
    labels = [f"{row}{n}" for row in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:ROWS] for n in range(1, PER_ROW + 1)]
    schedule = [(token, labels[i], i * arrival_s / buyers) for i, token in enumerate(data["tokens"])]
    env = {"PAYMENT_GATEWAY": "dev", "RATE_LIMIT_QUEUE_PER_IP": "1000000/minute", "WS_MAX_PER_IP": str(buyers + 100)}
    with gunicorn("wsgi:app", *SERVER_ARGS, env=env) as port:
        workers = gunicorn_workers()
        cpu_before = cpu_seconds(workers)
        ctx = mp.get_context("fork")
        pipes, children = [], []
        gc.collect()
        for n in range(processes):
            parent, child = ctx.Pipe()
            process = ctx.Process(target=_client_main, args=(port, showtime, schedule[n::processes], timeout, child))
            process.start()
            pipes.append(parent)
            children.append(process)
        for parent in pipes:
            parent.recv()
        start = time.time() + 0.5
        for parent in pipes:
            parent.send(start)
        parts = [parent.recv() for parent in pipes]
        finished = time.time()
        for process in children:
            process.join(10)
        cpu_after = cpu_seconds(workers)
        room = requests.get(f"http://127.0.0.1:{port}/api/showtimes/{showtime}/seats", timeout=30).json().get("counts")
    codes: dict[str, Counter[str]] = {}
    ends: Counter[str] = Counter()
    admissions: list[tuple[float, int | None, float | None]] = []
    booked_at: list[float] = []
    latency: dict[str, list[float]] = {}
    for part in parts:
        for step, counts in part["codes"].items():
            codes.setdefault(step, Counter()).update(counts)
        ends.update(part["ends"])
        admissions += [tuple(a) for a in part["admissions"]]
        booked_at += part["booked_at"]
        for step, values in part["latency"].items():
            latency.setdefault(step, []).extend(values)
    five_xx = sum(n for counts in codes.values() for key, n in counts.items() if key[:1] == "5")
    ordered = sorted(admissions, key=lambda a: a[0])
    places = [a[1] for a in ordered if a[1] is not None]
    inversions = sum(1 for i in range(len(ordered)) for j in range(i + 1, min(len(ordered), i + 400))
                     if ordered[i][1] is not None and ordered[j][1] is not None and ordered[j][0] > ordered[i][0]
                     and ordered[j][1] < ordered[i][1])
    push_delays = [(pushed * 1000 - admitted) for admitted, _place, pushed in admissions if pushed is not None]
    waited = len(push_delays)
    arriving_until = (start + arrival_s) * 1000
    pushed = [x for x in admissions if x[2] is not None]
    phases = {"while_arriving": [d for (a, _p, _t), d in zip(pushed, push_delays, strict=True) if a <= arriving_until],
              "after_arrivals": [d for (a, _p, _t), d in zip(pushed, push_delays, strict=True) if a > arriving_until]}
    return {
        "scenario": "waiting room", "server": "gunicorn wsgi:app " + " ".join(SERVER_ARGS), "server_env": env,
        "buyers": buyers, "arrival_s": arrival_s, "active_limit": active_limit, "seats": ROWS * PER_ROW,
        "client": f"{processes} processes x asyncio (open-loop arrivals; raw HTTP/1.1 and a raw WebSocket per buyer)",
        "run_s": round(finished - start, 2), "five_xx": five_xx,
        "codes": {step: dict(sorted(c.items())) for step, c in codes.items()},
        "admitted": len(admissions), "admitted_after_waiting": waited, "booked": ends.get("booked", 0),
        "every_admitted_buyer_booked": ends.get("booked", 0) == len(admissions),
        "ends": dict(ends),
        "order_checked_pairs": "each admission against the next 400 by admission time",
        "order_inversions": inversions, "places_distinct": len(set(places)) == len(places),
        "admitted_push_delay_ms": {"n": waited, "p50": round(percentile(push_delays, 50), 1),
                                   "p99": round(percentile(push_delays, 99), 1),
                                   "max": round(max(push_delays), 1) if push_delays else None},
        "admitted_push_delay_ms_by_phase": {name: {"n": len(v), "p50": round(percentile(v, 50), 1),
                                                   "p99": round(percentile(v, 99), 1)} for name, v in phases.items()},
        "tickets_per_minute": round(len(booked_at) / (max(booked_at) - start) * 60, 1) if booked_at else None,
        "latency_ms": {step: {"n": len(v), "p50": round(percentile(v, 50), 1), "p99": round(percentile(v, 99), 1)}
                       for step, v in latency.items() if v},
        "seat_counts_after": room, "server_cpu_s": round(cpu_after - cpu_before, 2), "load_average": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--buyers", type=int, default=2000)
    parser.add_argument("--arrival-s", type=float, default=10.0)
    parser.add_argument("--active-limit", type=int, default=100)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=180.0)
    args = parser.parse_args()
    with stdout_to_stderr():
        result = run(args.buyers, args.arrival_s, args.active_limit, args.processes, args.timeout)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
