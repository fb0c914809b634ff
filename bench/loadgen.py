"""An asyncio HTTP/1.1 load generator (stdlib only) for the open-loop and burst scenarios.

Raw HTTP/1.1 over asyncio streams with keep-alive: a request is bytes made once before the run
(`http_request`); a response is read as status line, headers and a Content-Length (or chunked) body.
The load runs in forked processes (multiprocessing, fork), which freeze the heap they inherit
(gc.freeze, as bench/ws_latency.py: a collection of the parent's app objects would stall the client,
a pause of the instrument and not of the server).

Open loop (`open_loop`): request k of a run at `rate` req/s is due at t0 + k/rate whatever happened to
the others (wrk2's model, no coordinated omission). A due request goes out on an idle keep-alive
connection of the process's pool, or a new connection when none is idle (`pool_cap` over all the
processes; past that it waits for one to come free, `waited_for_connection`, and that wait is part of
its latency). Latency runs from the scheduled time (or the send, when the scheduler sent it a little
early: epoll sleeps in whole milliseconds) to the last byte of the response. The schedule can be split
over `procs` processes (process j takes slots j, j+procs, ...; by default one per 2,000 req/s, which one
process keeps up with on this machine); the results are merged. How late the client's own loop took up
each slot is reported (`send_late_*`; `client_overrun`: slots taken up more than 1 ms late), with the
client's CPU use, so a run whose client fell behind is visible as such. What has not answered `drain_s`
after the last slot was due is counted as unfinished and dropped.

Burst (`burst`): N clients each open their own connection first; when all are open (in every process:
a barrier), each process writes all its requests in one tight loop, then reads the answers. Latency
runs from the release to the last byte of each response.

Connections idle longer than `idle_max_s` are not reused (gunicorn closes keep-alive connections idle
for its `keepalive`, 5 s in app/gunicorn_conf.py). A request on a reused connection that fails before
any byte of an answer (the server closed it meanwhile) is sent again once on a new one (`retried`).

CLI, for a quick look: `python -m bench.loadgen open http://127.0.0.1:8001/ok --rate 1000 --seconds 3`
or `python -m bench.loadgen burst http://127.0.0.1:8001/ok --clients 500`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import multiprocessing as mp
import resource
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bench.common import percentile

EARLY_S = 0.0005  # the scheduler may send this much early (epoll sleeps in whole milliseconds)
OVERRUN_S = 0.001  # a send later than this after its slot counts as a client overrun


def http_request(method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes | str | None = None,
                 host: str = "127.0.0.1") -> bytes:
    """One HTTP/1.1 request, encoded once (keep-alive is HTTP/1.1's default)."""
    data = body.encode() if isinstance(body, str) else (body or b"")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if data or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(data)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def raise_nofile() -> tuple[int, int]:
    """Soft RLIMIT_NOFILE up to the hard limit (thousands of sockets); returns the new (soft, hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


class NoAnswer(Exception):
    """The connection ended before any byte of a response."""


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, keep_alive) of one HTTP/1.1 response."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise NoAnswer() from exc
        raise
    lines = head.split(b"\r\n")
    status_line = lines[0]
    status = int(status_line[9:12])
    keep_alive = status_line.startswith(b"HTTP/1.1")
    length, chunked = -1, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            word = value.strip().lower()
            keep_alive = word == b"keep-alive" or (keep_alive and word != b"close")
    if chunked:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                break
            parts.append(await reader.readexactly(size + 2))
        body = b"".join(p[:-2] for p in parts)
    elif length >= 0:
        body = await reader.readexactly(length) if length else b""
    elif status in (204, 304) or 100 <= status < 200:
        body = b""
    else:
        body, keep_alive = await reader.read(), False
    return status, body, keep_alive


def status_key(status: int, body: bytes) -> str:
    """"200", or "409 seat_taken" for an error with the app's body ({"error": {"code": ...}})."""
    if status < 400:
        return str(status)
    try:
        return f"{status} {json.loads(body)['error']['code']}"
    except (ValueError, KeyError, TypeError):
        return str(status)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    last_used: float
    uses: int = 0

    def close(self) -> None:
        self.writer.close()


@dataclass
class _Pool:
    """Idle keep-alive connections (most recently used first) and the waiters for one."""

    host: str
    port: int
    cap: int
    idle_max_s: float
    idle: list[_Conn] = field(default_factory=list)
    waiters: list[asyncio.Future] = field(default_factory=list)
    open: int = 0
    opened: int = 0
    peak: int = 0
    waited: int = 0

    async def _new(self) -> _Conn:
        self.open += 1
        self.opened += 1
        self.peak = max(self.peak, self.open)
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        except BaseException:
            self.open -= 1
            raise
        return _Conn(reader, writer, 0.0)

    async def acquire(self, now: float) -> _Conn:
        while self.idle:
            conn = self.idle.pop()
            if now - conn.last_used < self.idle_max_s:
                return conn
            self.discard(conn, replace=False)
        if self.open < self.cap:
            return await self._new()
        self.waited += 1
        waiter = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        return await waiter

    def release(self, conn: _Conn, now: float) -> None:
        conn.last_used = now
        conn.uses += 1
        while self.waiters:
            waiter = self.waiters.pop(0)
            if not waiter.done():
                waiter.set_result(conn)
                return
        self.idle.append(conn)

    def discard(self, conn: _Conn, replace: bool = True) -> None:
        conn.close()
        self.open -= 1
        if replace and self.waiters:  # someone waits for a connection: open one in its place
            asyncio.get_running_loop().create_task(self._replace())

    async def _replace(self) -> None:
        try:
            conn = await self._new()
        except OSError:
            return
        self.release(conn, asyncio.get_running_loop().time())

    async def warm(self, count: int) -> None:
        conns = await asyncio.gather(*(self._new() for _ in range(min(count, self.cap))))
        now = asyncio.get_running_loop().time()
        for conn in conns:
            conn.last_used = now
            self.idle.append(conn)


async def _open_loop_proc(host: str, port: int, requests: list[bytes], rate: float, seconds: float,
                          index: int, step: int, conn: Any, pool_cap: int, warm: int, drain_s: float,
                          idle_max_s: float) -> dict:
    loop = asyncio.get_running_loop()
    pool = _Pool(host, port, pool_cap, idle_max_s)
    await pool.warm(warm)
    conn.send("ready")
    t0 = conn.recv()  # time.monotonic() is loop.time(): one clock for every process
    total = int(rate * seconds)
    latencies: list[float] = []
    lateness: list[float] = []
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    counts = {"sent": 0, "completed": 0, "retried": 0}
    last_end = [t0]
    pending: set[asyncio.Task] = set()

    async def one(k: int, due: float) -> None:
        lateness.append(max(0.0, loop.time() - due))  # the client's own delay: its loop ran the slot late
        counts["sent"] += 1
        request = requests[k % len(requests)]
        for attempt in (0, 1):
            try:
                c = await pool.acquire(loop.time())
            except OSError as exc:
                errors[f"connect {type(exc).__name__}"] += 1
                return
            sent = loop.time()
            reused = c.uses > 0
            try:
                c.writer.write(request)
                status, body, keep_alive = await read_response(c.reader)
            except (NoAnswer, ConnectionError) as exc:
                pool.discard(c)
                if reused and attempt == 0:  # the server closed the idle connection meanwhile: once more
                    counts["retried"] += 1
                    continue
                errors[type(exc).__name__] += 1
                return
            except (asyncio.IncompleteReadError, ValueError, OSError) as exc:
                pool.discard(c)
                errors[type(exc).__name__] += 1
                return
            end = loop.time()
            if keep_alive:
                pool.release(c, end)
            else:
                pool.discard(c)
            latencies.append((end - min(due, sent)) * 1000)
            statuses[status_key(status, body)] += 1
            counts["completed"] += 1
            last_end[0] = max(last_end[0], end)
            return

    cpu0 = _cpu()
    k = index
    while k < total:
        due = t0 + k / rate
        now = loop.time()
        if due - now > EARLY_S:
            await asyncio.sleep(due - now - EARLY_S)
            continue
        task = loop.create_task(one(k, due))
        pending.add(task)
        task.add_done_callback(pending.discard)
        k += step
    schedule_end = t0 + seconds
    if pending:
        await asyncio.wait(set(pending), timeout=max(0.0, schedule_end + drain_s - loop.time()))
    unfinished = len(pending)
    for task in list(pending):
        task.cancel()
    if pending:
        await asyncio.wait(set(pending), timeout=2)
    cpu = _cpu() - cpu0
    wall = loop.time() - t0
    for c in pool.idle:
        c.close()
    return {"latencies": latencies, "lateness": lateness, "statuses": dict(statuses), "errors": dict(errors),
            **counts, "unfinished": unfinished, "connections_opened": pool.opened, "connections_peak": pool.peak,
            "waited_for_connection": pool.waited, "cpu_s": cpu, "wall_s": wall, "last_end": last_end[0] - t0}


def _freeze() -> None:
    """Leave the heap inherited from the parent (the app, earlier phases) out of every collection, from
    the start: a full collection of it takes a few hundred milliseconds, a stall of the instrument."""
    gc.freeze()


def _open_loop_child(args: tuple, conn: Any) -> None:
    _freeze()
    raise_nofile()
    try:
        conn.send(asyncio.run(_open_loop_proc(*args[:7], conn, *args[7:])))
    except BaseException as exc:  # the parent waits on the pipe: tell it
        conn.send({"crashed": repr(exc)})
        raise


def _summary(latencies: list[float]) -> dict[str, float | None]:
    if not latencies:
        return {"p50_ms": None, "p90_ms": None, "p99_ms": None, "max_ms": None}
    return {"p50_ms": round(percentile(latencies, 50), 2), "p90_ms": round(percentile(latencies, 90), 2),
            "p99_ms": round(percentile(latencies, 99), 2), "max_ms": round(max(latencies), 2)}


def open_loop(url: str, requests: list[bytes], rate: float, seconds: float, *, procs: int | None = None,
              pool_cap: int = 2000, warm: int | None = None, drain_s: float = 5.0, idle_max_s: float = 4.0,
              start_at: float | None = None) -> dict:
    """`rate` req/s for `seconds` against url's host and port, requests[k % len] in slot k, over `procs`
    forked processes (None: one per 2,000 req/s); `start_at`: a time.monotonic() to start at (else as
    soon as every process is ready). Returns the merged results."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    procs = procs or max(1, math.ceil(rate / 2000))
    per_proc_cap = max(1, pool_cap // procs)
    warm = max(1, min(per_proc_cap, 64 if warm is None else warm // procs))
    ctx = mp.get_context("fork")
    pipes, children = [], []
    for j in range(procs):
        parent, child = ctx.Pipe()
        args = (host, port, requests, rate, seconds, j, procs, per_proc_cap, warm, drain_s, idle_max_s)
        process = ctx.Process(target=_open_loop_child, args=(args, child), daemon=False)
        process.start()
        pipes.append(parent)
        children.append(process)
    for pipe in pipes:
        msg = pipe.recv()
        if msg != "ready":
            raise RuntimeError(f"load generator process failed: {msg}")
    t0 = max(time.monotonic() + 0.1, start_at or 0.0)
    for pipe in pipes:
        pipe.send(t0)
    parts_ = [pipe.recv() for pipe in pipes]
    for process in children:
        process.join(10)
    crashed = [p["crashed"] for p in parts_ if "crashed" in p]
    if crashed:
        raise RuntimeError(f"load generator process failed: {crashed}")
    latencies = [x for p in parts_ for x in p["latencies"]]
    lateness = [x * 1000 for p in parts_ for x in p["lateness"]]
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for p in parts_:
        statuses.update(p["statuses"])
        errors.update(p["errors"])
    cpu = sum(p["cpu_s"] for p in parts_)
    wall = max(p["wall_s"] for p in parts_)
    completed = sum(p["completed"] for p in parts_)
    last_end = max(p["last_end"] for p in parts_)
    return {
        "rate": rate, "seconds": seconds, "procs": procs,
        "sent": sum(p["sent"] for p in parts_), "completed": completed,
        "unfinished": sum(p["unfinished"] for p in parts_), "retried": sum(p["retried"] for p in parts_),
        "achieved_rps": round(completed / max(last_end, seconds), 1),
        "statuses": dict(sorted(statuses.items())), "errors": dict(sorted(errors.items())),
        **_summary(latencies),
        "send_late_p50_ms": round(percentile(lateness, 50), 3) if lateness else None,
        "send_late_p99_ms": round(percentile(lateness, 99), 3) if lateness else None,
        "send_late_max_ms": round(max(lateness), 2) if lateness else None,
        "client_overrun": sum(1 for x in lateness if x > OVERRUN_S * 1000),
        "connections_opened": sum(p["connections_opened"] for p in parts_),
        "connections_peak": sum(p["connections_peak"] for p in parts_),
        "waited_for_connection": sum(p["waited_for_connection"] for p in parts_),
        "client_cpu_s": round(cpu, 2), "client_cores": round(cpu / wall, 3) if wall else None,
    }


async def _burst_proc(host: str, port: int, requests: list[bytes], barrier: Any, open_concurrency: int,
                      timeout: float, keep_bodies: bool, warm: list[bytes] | None) -> dict:
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(open_concurrency)
    warmed: Counter[str] = Counter()

    async def connect(i: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | str:
        async with gate:
            try:
                reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
            except OSError as exc:
                return f"connect {type(exc).__name__}"
            if warm is not None:  # this client's earlier request on the same connection (and worker)
                try:
                    writer.write(warm[i])
                    status, body, keep_alive = await read_response(reader)
                except (NoAnswer, asyncio.IncompleteReadError, OSError, ValueError) as exc:
                    writer.close()
                    return f"warm {type(exc).__name__}"
                warmed[status_key(status, body)] += 1
                if not keep_alive:
                    writer.close()
                    return "warm connection closed"
            return reader, writer

    began = loop.time()
    conns = await asyncio.gather(*(connect(i) for i in range(len(requests))))
    open_s = loop.time() - began
    cpu0 = _cpu()
    barrier.wait()  # blocks this process's loop, which has nothing else to do: every process is connected
    released = loop.time()
    for c, request in zip(conns, requests, strict=True):
        if not isinstance(c, str):
            c[1].write(request)
    written = loop.time() - released
    results: list[Any] = [None] * len(requests)

    async def answer(i: int) -> None:
        c = conns[i]
        if isinstance(c, str):
            results[i] = (None, c, None, None)
            return
        try:
            status, body, _keep = await read_response(c[0])
            results[i] = (status, status_key(status, body), (loop.time() - released) * 1000,
                          body if keep_bodies else None)
        except (NoAnswer, asyncio.IncompleteReadError, ConnectionError, OSError, ValueError) as exc:
            results[i] = (None, type(exc).__name__, (loop.time() - released) * 1000, None)
        finally:
            c[1].close()

    tasks = [loop.create_task(answer(i)) for i in range(len(requests))]
    _done, late = await asyncio.wait(tasks, timeout=timeout)
    for task in late:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for i, r in enumerate(results):
        if r is None:
            results[i] = (None, "timeout", None, None)
    return {"results": results, "open_s": open_s, "write_s": written, "released": released,
            "cpu_s": _cpu() - cpu0, "warmed": dict(warmed)}


def _burst_child(args: tuple, conn: Any) -> None:
    _freeze()
    raise_nofile()
    try:
        conn.send(asyncio.run(_burst_proc(*args)))
    except BaseException as exc:
        conn.send({"crashed": repr(exc)})
        raise


def burst(url: str, requests: list[bytes], *, procs: int = 1, open_concurrency: int = 100, timeout: float = 60.0,
          keep_bodies: bool = False, warm: list[bytes] | None = None) -> dict:
    """Every request at once, each on its own pre-opened connection (len(requests) clients), split over
    `procs` forked processes released by one barrier. `warm`: one request per client sent (and answered)
    on its connection while connecting, before the release. `results` keeps, in request order,
    (status or None, status key or error, latency ms or None, body if keep_bodies)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    raise_nofile()
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(procs)
    shares = [list(range(j, len(requests), procs)) for j in range(procs)]
    pipes, children = [], []
    for share in shares:
        parent, child = ctx.Pipe()
        args = (host, port, [requests[i] for i in share], barrier, open_concurrency, timeout, keep_bodies,
                None if warm is None else [warm[i] for i in share])
        process = ctx.Process(target=_burst_child, args=(args, child))
        process.start()
        pipes.append(parent)
        children.append(process)
    parts_ = [pipe.recv() for pipe in pipes]
    for process in children:
        process.join(10)
    crashed = [p["crashed"] for p in parts_ if "crashed" in p]
    if crashed:
        raise RuntimeError(f"burst process failed: {crashed}")
    results: list[Any] = [None] * len(requests)
    for share, part in zip(shares, parts_, strict=True):
        for i, r in zip(share, part["results"], strict=True):
            results[i] = r
    keys = Counter(r[1] for r in results)
    warmed: Counter[str] = Counter()
    for part in parts_:
        warmed.update(part["warmed"])
    latencies = [r[2] for r in results if r[0] is not None]
    return {
        "clients": len(requests), "procs": procs, "answered": len(latencies),
        "statuses": dict(sorted(keys.items())),
        **_summary(latencies),
        "open_all_s": round(max(p["open_s"] for p in parts_), 2),
        "write_all_ms": round(max(p["write_s"] for p in parts_) * 1000, 1),
        "release_spread_ms": round((max(p["released"] for p in parts_) - min(p["released"] for p in parts_)) * 1000, 2),
        "client_cpu_s": round(sum(p["cpu_s"] for p in parts_), 2),
        **({"warm_statuses": dict(sorted(warmed.items()))} if warm is not None else {}),
        "results": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["open", "burst"])
    parser.add_argument("url")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    parser.add_argument("--body", default=None)
    parser.add_argument("--rate", type=float, default=1000.0, help="open: requests per second")
    parser.add_argument("--seconds", type=float, default=3.0, help="open: length of the schedule")
    parser.add_argument("--procs", type=int, default=None, help="processes (open: one per 2,000 req/s)")
    parser.add_argument("--pool-cap", type=int, default=2000, help="open: connections at most, over all processes")
    parser.add_argument("--clients", type=int, default=500, help="burst: connections, one request each")
    ns = parser.parse_args()
    parts = urlsplit(ns.url)
    headers = dict(h.split(":", 1) for h in ns.header)
    headers = {k.strip(): v.strip() for k, v in headers.items()}
    request = http_request(ns.method, parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers,
                           body=ns.body)
    if ns.mode == "open":
        result = open_loop(ns.url, [request], min(ns.rate, 50_000), min(ns.seconds, 600), procs=ns.procs,
                           pool_cap=ns.pool_cap)
    else:
        result = burst(ns.url, [request] * min(ns.clients, 10_000), procs=ns.procs or 1)
        result.pop("results")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
