"""Scenario 3, a sell-out: thousands of signed-in buyers race for one 216-seat showtime, through the API.

Server: the real app (`wsgi:app`) under `gunicorn -c app/gunicorn_conf.py --workers 2` (gevent), the dev
gateway (PAYMENT_GATEWAY=dev), the development environment of bench.common.server_env. No Celery worker:
/api/payments/verify books synchronously (orders.confirm_payment in the request); the only task it queues
is the ticket rendering, after the commit, which a sell-out does not wait for (it stays in the broker).

Client: forked processes, each one asyncio loop of buyers over raw HTTP/1.1 keep-alive (one connection
per buyer, as each browser has its own). Each buyer, from one start signal:

1. GET the seat map (`--pick map`; with `--pick random` the first try is a random choice of labels and the
   map is read only after a refusal), and choose 1-4 available seats, side by side where it can;
2. POST redis-lock-seats; on 409 seat_taken it drops the refused seats from what it believes is free
   and tries others, reading the map again after two refusals in a row; it gives up when the map shows
   no available seat;
3. POST /api/payments/create-order -> POST /api/payments/dev/checkout (outcome success) ->
   POST /api/payments/verify, each step retried on 503 / 5xx / a broken connection (the jittered wait
   is capped at 1 s, whatever Retry-After says); a purchase that cannot go on unlocks its seats and
   the buyer starts again. One booking per buyer.

The wall time runs from the first lock request sent to the verify answer that booked the last seat.
Afterwards the database is checked: each seat in at most one confirmed booking, bookings' seats vs the
showtime_seats rows, orders by state, payments captured (in the database, or at the dev gateway) with
neither a booking nor a refund, and what is left available or held. `server_route_mean_ms` is the app's
own time per route (its request-duration histogram, from /metrics): close to the client's latency, the
wait is inside the server (a gevent loop with every request in it, pools), not in the listen queue.
One JSON document on stdout.

    .venv/bin/python -m bench.sellout --buyers 2000 --timeout 120
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing as mp
import os
import random
import resource
import time
from collections import Counter, defaultdict
from typing import Any

import requests
import sqlalchemy as sa

from bench.common import gunicorn, percentile, prepare
from bench.ws_latency import cpu_seconds, gunicorn_workers, memory_kb, nofile_limit, raise_nofile

SERVER_ARGS = ["-c", "app/gunicorn_conf.py", "--workers", "2"]
MAX_STEP_TRIES = 6      # one step (lock, order, checkout, verify) is tried this often before giving up on it
MAX_ROUNDS = 60         # lock attempts of one buyer at most
BACKOFF_CAP_S = 1.0


class HttpError(Exception):
    """The connection broke (refused, reset, closed mid-answer)."""


class Connection:
    """One keep-alive HTTP/1.1 connection; a request on a connection the server has just closed as idle
    is sent again once on a new one (only when not a byte of the answer came back)."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.auth = f"Authorization: Bearer {token}\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = False
        self.connects = 0

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port, limit=1 << 20)
        self.used = False
        self.connects += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, method: str, path: str, body: Any = None, extra: str = "") -> tuple[int, dict, Any]:
        data = json.dumps(body).encode() if body is not None else b""
        head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{self.auth}{extra}"
                f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n").encode()
        for attempt in (0, 1):
            try:
                if self.writer is None:
                    await self._open()
                assert self.reader is not None and self.writer is not None
                reused = self.used
                self.writer.write(head + data)
                await self.writer.drain()
                raw_head = await self.reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as exc:
                self.close()
                if attempt == 0 and reused and not exc.partial:
                    continue  # the idle connection was closed by the server before it read the request
                raise HttpError("connection closed") from exc
            except (OSError, asyncio.LimitOverrunError) as exc:
                self.close()
                if attempt == 0 and self.used:
                    continue
                raise HttpError(type(exc).__name__) from exc
            try:
                return await self._answer(raw_head)
            except (asyncio.IncompleteReadError, OSError, ValueError) as exc:
                self.close()
                raise HttpError("broken answer") from exc
        raise HttpError("unreachable")

    async def _answer(self, raw_head: bytes) -> tuple[int, dict, Any]:
        assert self.reader is not None
        lines = raw_head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                chunks.append(chunk[:-2])
            payload = b"".join(chunks)
        else:
            payload = await self.reader.readexactly(int(headers.get("content-length", "0")))
        self.used = True
        if headers.get("connection", "").lower() == "close":
            self.close()
        body = None
        if payload and headers.get("content-type", "").startswith("application/json"):
            body = json.loads(payload)
        return status, headers, body


class Tally:
    """What one client process saw: answers per step, step latencies, bookings and buyers' ends."""

    def __init__(self) -> None:
        self.codes: dict[str, Counter[str]] = defaultdict(Counter)
        self.latency_ms: dict[str, list[float]] = defaultdict(list)
        self.bookings: list[tuple[float, int]] = []   # (wall time of the verify answer, seats)
        self.ends: Counter[str] = Counter()
        self.first_lock: float | None = None
        self.paid: list[str] = []                       # gateway order ids paid at the dev checkout
        self.paid_unverified: list[str] = []            # paid, and the buyer never got a verify answer
        self.maps = 0
        self.connects = 0

    async def call(self, conn: Connection, step: str, method: str, path: str,
                   body: Any = None, extra: str = "") -> tuple[int, dict, Any]:
        started = time.perf_counter()
        try:
            status, headers, answer = await conn.request(method, path, body, extra)
        except HttpError as exc:
            self.codes[step][f"conn_error {exc}"] += 1
            return 0, {}, None
        self.latency_ms[step].append((time.perf_counter() - started) * 1000)
        code = answer.get("error", {}).get("code") if isinstance(answer, dict) and status >= 400 else None
        self.codes[step][f"{status} {code}" if code else str(status)] += 1
        return status, headers, answer


def _retryable(status: int) -> bool:
    return status == 0 or status >= 500


async def _backoff(headers: dict, tries: int) -> None:
    try:
        hint = float(headers.get("retry-after", "0.25"))
    except ValueError:
        hint = 0.25
    await asyncio.sleep(min(BACKOFF_CAP_S, max(0.1, hint) * (1 + tries) / 2) * random.uniform(0.5, 1.0))


def _pick(free: set[str], need: int, rng: random.Random) -> list[str]:
    """`need` seats of `free`, side by side in a row where possible (a random start, then right, then left)."""
    start = rng.choice(sorted(free))
    row, number = start[0], int(start[1:])
    chosen = [start]
    for step in (1, -1):
        n = number + step
        while len(chosen) < need and f"{row}{n}" in free:
            chosen.append(f"{row}{n}")
            n += step
    others = sorted(free - set(chosen))
    while len(chosen) < need and others:  # the row ran out: any other free seats
        chosen.append(others.pop(rng.randrange(len(others))))
    return sorted(chosen)


async def _step(tally: Tally, conn: Connection, step: str, path: str, body: Any,
                ok: int) -> tuple[int, Any]:
    """POST `body` until the answer is not a 5xx or a broken connection (at most MAX_STEP_TRIES)."""
    status, headers, answer = 0, {}, None
    for tries in range(MAX_STEP_TRIES):
        status, headers, answer = await tally.call(conn, step, "POST", path, body)
        if status == ok or not _retryable(status):
            break
        await _backoff(headers, tries)
    return status, answer


async def _purchase(tally: Tally, conn: Connection, showtime: int, seats: list[str]) -> bool:
    """create-order -> dev checkout -> verify for held seats; True once booked."""
    status, order = await _step(tally, conn, "create_order", "/api/payments/create-order",
                                {"showtime_id": showtime, "seat_ids": seats}, 201)
    if status != 201:
        return False
    gateway_order = order["gateway_order_id"]
    status, paid = await _step(tally, conn, "checkout", "/api/payments/dev/checkout",
                               {"razorpay_order_id": gateway_order, "outcome": "success"}, 200)
    if status != 200:
        if status == 409:  # paid by an earlier try whose answer was lost: the signature is gone with it
            tally.paid_unverified.append(gateway_order)
        return False
    tally.paid.append(gateway_order)
    status, result = await _step(tally, conn, "verify", "/api/payments/verify", {
        "razorpay_order_id": gateway_order, "razorpay_payment_id": paid["razorpay_payment_id"],
        "razorpay_signature": paid["razorpay_signature"]}, 200)
    if status != 200:
        tally.paid_unverified.append(gateway_order)
        return False
    tally.codes["verify_outcome"][result["status"]] += 1
    if result["status"] != "booked":
        return False  # paid, but the seats were gone: refunded (the database check counts these)
    tally.bookings.append((time.time(), len(seats)))
    return True


async def _buyer(tally: Tally, port: int, token: str, showtime: int, pick: str, deadline: float,
                 rng: random.Random) -> None:
    conn = Connection(port, token)
    need = rng.randint(1, 4)
    labels = {f"{row}{n}" for row in "ABCDEFGHIJKL" for n in range(1, 19)}
    free: set[str] | None = set(labels) if pick == "random" else None
    refusals = 0
    etag, last_free, refused = "", set(), set()  # the last map read (If-None-Match), seats refused since
    try:
        for _round in range(MAX_ROUNDS):
            if time.time() > deadline:
                tally.ends["timeout"] += 1
                return
            if not free:
                status, headers, seat_map = await tally.call(
                    conn, "seat_map", "GET", f"/api/showtimes/{showtime}/seats",
                    extra=f"If-None-Match: {etag}\r\n" if etag else "")
                if status == 304:  # unchanged since the last read: what it showed, less what was refused since
                    free = last_free - refused
                elif status == 200:
                    free = last_free = {s["id"] for s in seat_map["seats"] if s["status"] == "available"}
                    etag, refused = headers.get("etag", ""), set()
                else:
                    await _backoff(headers, 1)
                    continue
                tally.maps += 1
                refusals = 0
                if not free:
                    tally.ends["sold_out_seen"] += 1
                    return
            seats = _pick(free, need, rng)
            if tally.first_lock is None:
                tally.first_lock = time.time()
            status, headers, answer = await tally.call(conn, "lock", "POST",
                                                       f"/api/showtimes/{showtime}/redis-lock-seats",
                                                       {"seat_ids": seats})
            if status == 200:
                if await _purchase(tally, conn, showtime, seats):
                    tally.ends["booked"] += 1
                    return
                await tally.call(conn, "unlock", "POST", f"/api/showtimes/{showtime}/redis-unlock-seats",
                                 {"seat_ids": seats})
                free = None
            elif status == 409:
                taken = (answer or {}).get("error", {}).get("details", {}).get("seat_ids") or seats
                free -= set(taken)
                refused |= set(taken)
                refusals += 1
                if refusals >= 2:
                    free = None
            elif _retryable(status):
                await _backoff(headers, 1)
            else:  # 4xx other than 409: nothing a retry changes
                tally.ends[f"refused {status}"] += 1
                return
        tally.ends["too_many_rounds"] += 1
    finally:
        tally.connects += conn.connects
        conn.close()


def _client_main(port: int, showtime: int, tokens: list[str], pick: str, timeout: float, seed: int,
                 conn) -> None:  # type: ignore[no-untyped-def]
    gc.freeze()  # the inherited heap (the app) is not the client's to collect
    raise_nofile()
    rng = random.Random(seed)

    async def main() -> dict:
        tally = Tally()
        conn.send("ready")
        start_at = conn.recv()
        await asyncio.sleep(max(0.0, start_at - time.time()))
        deadline = start_at + timeout
        await asyncio.gather(*(_buyer(tally, port, token, showtime, pick, deadline, random.Random(rng.random()))
                               for token in tokens))
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {"codes": {k: dict(v) for k, v in tally.codes.items()}, "latency_ms": dict(tally.latency_ms),
                "bookings": tally.bookings, "ends": dict(tally.ends), "first_lock": tally.first_lock,
                "paid": tally.paid, "paid_unverified": tally.paid_unverified, "maps": tally.maps,
                "connects": tally.connects, "cpu_s": usage.ru_utime + usage.ru_stime}

    conn.send(asyncio.run(main()))


def _database_checks(app: Any, showtime: int) -> dict:
    """Oversold seats, bookings vs seat rows, orders by state, paid-but-unbooked, what is left."""
    from app.extensions import db

    q = {"s": showtime}
    with app.app_context():
        run = db.session.execute
        claimed = (
            "WITH claimed AS (SELECT b.id AS booking_id, json_array_elements_text(b.seat_labels) AS label "
            "FROM bookings b WHERE b.showtime_id = :s AND b.state = 'confirmed') ")
        total, distinct = run(sa.text(claimed + "SELECT count(*), count(DISTINCT label) FROM claimed"), q).one()
        # a booking's seat whose row is not booked for that booking
        unmatched = run(sa.text(claimed + "SELECT count(*) FROM claimed c WHERE NOT EXISTS (SELECT 1 FROM "
                                "showtime_seats ss WHERE ss.showtime_id = :s AND ss.label = c.label "
                                "AND ss.state = 'booked' AND ss.booking_id = c.booking_id)"), q).scalar()
        # a booked row whose booking does not name it (or is not a confirmed booking of this showtime)
        orphaned = run(sa.text(claimed + "SELECT count(*) FROM showtime_seats ss WHERE ss.showtime_id = :s "
                               "AND ss.state = 'booked' AND NOT EXISTS (SELECT 1 FROM claimed c "
                               "WHERE c.label = ss.label AND c.booking_id = ss.booking_id)"), q).scalar()
        seats = dict(run(sa.text("SELECT state, count(*) FROM showtime_seats WHERE showtime_id = :s "
                                 "GROUP BY state"), q).all())
        orders = dict(run(sa.text("SELECT state, count(*) FROM orders WHERE showtime_id = :s GROUP BY state"),
                          q).all())
        bookings = run(sa.text("SELECT count(*) FROM bookings WHERE showtime_id = :s"), q).scalar()
        refunds = dict(run(sa.text("SELECT r.reason, count(*) FROM refunds r JOIN payments p ON p.id = "
                                   "r.payment_id JOIN orders o ON o.id = p.order_id WHERE o.showtime_id = :s "
                                   "GROUP BY r.reason"), q).all())
        # captured in the database, neither booked nor refunded
        db_unbooked = run(sa.text(
            "SELECT count(*) FROM payments p JOIN orders o ON o.id = p.order_id WHERE o.showtime_id = :s "
            "AND p.state = 'captured' AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.order_id = o.id) "
            "AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.payment_id = p.id)"), q).scalar()
        # paid at the dev gateway (its Redis record), with neither a booking nor a refund in the database
        settled = {row[0] for row in run(sa.text(
            "SELECT o.gateway_order_id FROM orders o WHERE o.showtime_id = :s AND (EXISTS (SELECT 1 FROM "
            "bookings b WHERE b.order_id = o.id) OR EXISTS (SELECT 1 FROM refunds r JOIN payments p ON "
            "p.id = r.payment_id WHERE p.order_id = o.id))"), q).all()}
        every = [row[0] for row in run(sa.text("SELECT gateway_order_id FROM orders WHERE showtime_id = :s"), q)]
        redis = app.extensions["redis"]
        prefix = f"{app.config['SEAT_LOCK_PREFIX']}:payments:dev:order:"
        pipe = redis.pipeline(transaction=False)
        for gateway_order in every:
            pipe.hget(prefix + gateway_order, "status")
        paid_at_gateway = [g for g, status in zip(every, pipe.execute(), strict=True) if status == "paid"]
        gateway_unbooked = sorted(set(paid_at_gateway) - settled)
        db.session.remove()
    return {"seats": seats, "bookings": bookings, "seats_in_bookings": total,
            "oversold_seats": total - distinct, "booking_seats_not_booked_for_it": unmatched,
            "booked_rows_without_their_booking": orphaned, "orders": orders, "refunds": refunds,
            "paid_at_gateway": len(paid_at_gateway), "paid_unbooked_unrefunded": len(gateway_unbooked),
            "paid_unbooked_unrefunded_in_db": db_unbooked, "paid_unbooked_examples": gateway_unbooked[:5]}


def _merge(parts: list[dict]) -> dict:
    codes: dict[str, Counter[str]] = defaultdict(Counter)
    latency: dict[str, list[float]] = defaultdict(list)
    for part in parts:
        for step, counts in part["codes"].items():
            codes[step].update(counts)
        for step, values in part["latency_ms"].items():
            latency[step].extend(values)
    ends: Counter[str] = Counter()
    for part in parts:
        ends.update(part["ends"])
    return {"codes": codes, "latency": latency, "ends": ends,
            "bookings": sorted(b for part in parts for b in part["bookings"]),
            "first_lock": min((p["first_lock"] for p in parts if p["first_lock"]), default=None),
            "paid": [g for p in parts for g in p["paid"]],
            "paid_unverified": [g for p in parts for g in p["paid_unverified"]],
            "maps": sum(p["maps"] for p in parts), "connects": sum(p["connects"] for p in parts),
            "client_cpu_s": sum(p["cpu_s"] for p in parts)}


def run(buyers: int = 2000, timeout: float = 120.0, processes: int = 2, pick: str = "map",
        seed: int = 1) -> dict:
    raise_nofile()
    prepared = time.monotonic()
    data = prepare(users=buyers)
    prepare_s = time.monotonic() - prepared
    showtime, tokens = data["showtime_id"], data["tokens"]
    env = {"PAYMENT_GATEWAY": "dev"}
    with gunicorn("wsgi:app", *SERVER_ARGS, env=env) as port:
        workers = gunicorn_workers()
        limits = {pid: nofile_limit(pid) for pid in workers}
        cpu_before = cpu_seconds(workers)
        ctx = mp.get_context("fork")
        pipes, children = [], []
        gc.collect()
        for n in range(processes):
            parent, child = ctx.Pipe()
            share = tokens[n::processes]
            process = ctx.Process(target=_client_main,
                                  args=(port, showtime, share, pick, timeout, seed * 1000 + n, child))
            process.start()
            pipes.append(parent)
            children.append(process)
        for parent in pipes:
            parent.recv()  # "ready"
        start_at = time.time() + 0.5
        for parent in pipes:
            parent.send(start_at)
        parts = [parent.recv() for parent in pipes]
        finished = time.time()
        for process in children:
            process.join(10)
        cpu_after = cpu_seconds(workers)
        seat_map = requests.get(f"http://127.0.0.1:{port}/api/showtimes/{showtime}/seats", timeout=30)
        route_times = _route_times(requests.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text)
        rss_kb = sum(memory_kb(pid)["rss_kb"] for pid in workers)
    checks = _database_checks(data["app"], showtime)
    merged = _merge(parts)
    capacity = sum(checks["seats"].values()) - checks["seats"].get("blocked", 0)
    sold_out_at, sold = None, 0
    for at, count in merged["bookings"]:
        sold += count
        if sold >= capacity and sold_out_at is None:
            sold_out_at = at
    first = merged["first_lock"]
    last = merged["bookings"][-1][0] if merged["bookings"] else None
    end = sold_out_at or last
    wall = (end - first) if first and end else None
    codes = merged["codes"]
    five_xx = sum(n for counts in codes.values() for key, n in counts.items() if key[:1] == "5")
    return {
        "scenario": "sell-out", "server": "gunicorn wsgi:app " + " ".join(SERVER_ARGS),
        "server_env": {**env, "CINEVERSE_ENV": "development", "CELERY_EAGER": "false"},
        "celery_worker": "none: verify books synchronously; the ticket tasks it queues stay in the broker",
        "client": f"{processes} processes x asyncio, raw HTTP/1.1 keep-alive, one connection per buyer",
        "buyers": buyers, "pick": pick, "timeout_s": timeout, "prepare_s": round(prepare_s, 2),
        "capacity": capacity, "tickets_sold_seen_by_buyers": sold, "bookings_seen_by_buyers": len(merged["bookings"]),
        "sold_out": sold_out_at is not None,
        "wall_s_first_lock_to_sold_out": round(wall, 3) if wall and sold_out_at else None,
        "wall_s_first_lock_to_last_booking": round(last - first, 3) if first and last else None,
        "tickets_per_minute": round(sold / wall * 60, 1) if wall else None,
        "run_s_start_to_last_buyer_done": round(finished - start_at, 2),
        "five_xx": five_xx, "codes": {step: dict(sorted(c.items())) for step, c in codes.items()},
        # the app's own time per route (HTTP_DURATION: first request hook to response), from /metrics;
        # the client's latency less this is time spent waiting to be served
        "server_route_mean_ms": route_times,
        "latency_ms": {step: {"n": len(v), "p50": round(percentile(v, 50), 1), "p99": round(percentile(v, 99), 1),
                              "max": round(max(v), 1)} for step, v in merged["latency"].items() if v},
        "buyer_ends": dict(merged["ends"]), "seat_map_reads": merged["maps"], "connections": merged["connects"],
        "paid_at_checkout": len(merged["paid"]), "paid_without_verify_answer": len(merged["paid_unverified"]),
        "database": checks,
        "seat_map_counts_after": seat_map.json().get("counts") if seat_map.ok else seat_map.status_code,
        "server_cpu_s": round(cpu_after - cpu_before, 2), "client_cpu_s": round(merged["client_cpu_s"], 2),
        "server_workers_rss_mb_after": round(rss_kb / 1024, 1),
        "server_nofile_limits": sorted(set(limits.values())), "load_average": os.getloadavg(),
    }


def _route_times(metrics: str) -> dict[str, dict[str, float]]:
    """Mean server-side time and count per route, from the cineverse_http_request_duration_seconds histogram."""
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for line in metrics.splitlines():
        for suffix, into in (("_sum{", sums), ("_count{", counts)):
            if line.startswith("cineverse_http_request_duration_seconds" + suffix):
                labels, _, value = line.rpartition(" ")
                fields = dict(part.split("=", 1) for part in labels[labels.index("{") + 1:-1].split(","))
                route = f"{fields.get('method', '').strip(chr(34))} {fields.get('route', '').strip(chr(34))}"
                into[route] = into.get(route, 0.0) + float(value)
    return {route: {"n": int(counts[route]), "mean_ms": round(sums[route] / counts[route] * 1000, 2)}
            for route in sorted(counts) if counts[route] and route in sums}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--buyers", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds from the start signal")
    parser.add_argument("--processes", type=int, default=2, help="client processes (asyncio loop each)")
    parser.add_argument("--pick", choices=["map", "random"], default="map",
                        help="first choice from the seat map (default) or at random (the map after a refusal)")
    parser.add_argument("--seed", type=int, default=1)
    ns = parser.parse_args()
    print(json.dumps(run(max(1, min(ns.buyers, 10_000)), min(ns.timeout, 1800), max(1, min(ns.processes, 16)),
                         ns.pick, ns.seed), indent=2))


if __name__ == "__main__":
    main()
