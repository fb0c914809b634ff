"""Seat event delivery latency to many WebSocket listeners on one showtime, under gunicorn, real Redis.

The listeners run in their own processes (`processes`, one asyncio loop each, a minimal RFC 6455 client
written as an asyncio Protocol: one callback per read, no coroutine per socket) so the server is
measured, not the client's threads. The publisher locks one seat per event through the holds service
(the same Lua step a lock request runs: hold + INCR + PUBLISH) and notes the wall-clock time before
the call; each listener notes when the matching event (by version) arrives. Latency = arrival - publish
start, so it includes the Redis step, the subscriber, the per-client queue and the socket write. The
listener process's own parsing delay is included too (the figures are pessimistic). Loopback only.

An event a listener never got as an event is lost; `lost_covered_by_snapshot` counts those a later
snapshot (a server-side re-sync of a client that fell behind) carried instead.

With `memory=True` the gunicorn workers' memory (VmRSS and Pss, summed over the worker pids found under
this process) is read before the listeners connect and once all are connected; the difference over the
listener count is the server's memory per socket. bench/ws_fanout.py is scenario 4 (10,000 listeners).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import multiprocessing as mp
import os
import random
import resource
import struct
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench.common import BENCH_REDIS_URL, gunicorn, on_cluster, percentile, prepare

WORKER_CLASSES = {
    "gevent": ["-c", "app/gunicorn_conf.py", "--workers", "1"],  # the deployed configuration, one process
    "gthread": ["--workers", "1", "--worker-class", "gthread", "--threads", "1100", "--worker-connections",
                "4000", "--timeout", "120"],
}
LISTENER_TRIES = 5  # a listener refused or closed before its snapshot connects again, this often at most


# ---- the server's processes (/proc) ----------------------------------------------------------------

def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def gunicorn_workers(parent: int | None = None) -> list[int]:
    """The pids of the workers of the gunicorn master(s) started by this process."""
    workers = []
    for pid in _children(parent or os.getpid()):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"gunicorn" in cmdline:
            workers.extend(_children(pid))
    return sorted(workers)


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS (status) and Pss (smaps_rollup) of one process, in kB."""
    out = {"rss_kb": 0, "pss_kb": 0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out["rss_kb"] = int(line.split()[1])
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                out["pss_kb"] = int(line.split()[1])
    except OSError:
        pass
    return out


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the processes (their own, not their children's), in seconds."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def open_sockets(pid: int) -> int:
    try:
        return sum(1 for fd in Path(f"/proc/{pid}/fd").iterdir() if os.readlink(fd).startswith("socket:"))
    except OSError:
        return -1


def nofile_limit(pid: int) -> str:
    """`soft/hard` open-file limit of a process, from /proc/PID/limits."""
    try:
        line = next(x for x in Path(f"/proc/{pid}/limits").read_text().splitlines()
                    if x.startswith("Max open files"))
        soft, hard = line.split()[3:5]
        return f"{soft}/{hard}"
    except (OSError, StopIteration):
        return "unknown"


def raise_nofile() -> tuple[int, int]:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit (children, the server too, inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 1 << 20, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


# ---- the listeners ------------------------------------------------------------------------------

class _Listener(asyncio.Protocol):
    """One seat-map WebSocket: the upgrade, then unmasked server frames parsed from one buffer."""

    def __init__(self, box: _Box, index: int) -> None:
        self.box, self.index = box, index
        self.buffer = bytearray()
        self.upgraded = False
        self.snapshot = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:  # type: ignore[no-untyped-def]
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write((f"GET {self.box.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                         f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                         ).encode())

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buf = self.buffer
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[:buf.find(b"\r\n")])
            if b" 101 " not in status + b" ":
                self.box.refused(self, status.decode("latin-1", "replace")[:40])
                return
            self.upgraded = True
            del buf[:end + 4]
        pos = 0
        while len(buf) - pos >= 2:
            first, second = buf[pos], buf[pos + 1] & 0x7F
            head = 2
            if second == 126:
                if len(buf) - pos < 4:
                    break
                second, head = struct.unpack_from("!H", buf, pos + 2)[0], 4
            elif second == 127:
                if len(buf) - pos < 10:
                    break
                second, head = struct.unpack_from("!Q", buf, pos + 2)[0], 10
            if len(buf) - pos < head + second:
                break
            payload = bytes(buf[pos + head:pos + head + second])
            pos += head + second
            self._frame(first & 0x0F, payload, now)
        del buf[:pos]

    def _frame(self, opcode: int, payload: bytes, now: float) -> None:
        if opcode == 0x9 and self.transport is not None:  # ping -> masked pong
            mask = os.urandom(4)
            self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + mask
                                 + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        elif opcode == 0x8 and self.transport is not None:
            self.transport.close()
        elif opcode == 0x1:
            message = json.loads(payload)
            kind = message["type"]
            if kind == "seat_locked":
                self.box.arrivals[self.index].append((message["version"], now))
            elif kind == "snapshot":
                if not self.snapshot:
                    self.snapshot = True
                    self.box.ready(self)
                else:
                    self.box.resyncs[self.index].append(message.get("version") or 0)

    def connection_lost(self, exc: Exception | None) -> None:
        self.box.lost(self)


class _Box:
    """One listener process's state: the listeners, their arrivals and how their connecting went."""

    def __init__(self, port: int, path: str, count: int, in_flight: int, rate: float) -> None:
        self.port, self.path, self.count = port, path, count
        self.arrivals: list[list[tuple[int, float]]] = [[] for _ in range(count)]
        self.resyncs: list[list[int]] = [[] for _ in range(count)]
        self.tries = [0] * count
        self.open = [False] * count
        self.ever = [False] * count
        self.connected = 0
        self.given_up = 0
        self.failures: dict[str, int] = {}
        self.dropped_after_snapshot = 0
        self.in_flight = asyncio.Semaphore(in_flight)
        self.rate = rate
        self.all_ready = asyncio.Event()
        self.retry: asyncio.Queue[int] = asyncio.Queue()
        self.done = False
        self.transports: list[asyncio.BaseTransport] = []

    def _fail(self, index: int, reason: str) -> None:
        self.failures[reason] = self.failures.get(reason, 0) + 1
        self.in_flight.release()
        if self.tries[index] < LISTENER_TRIES and not self.done:
            self.retry.put_nowait(index)
        else:
            self.given_up += 1
            self._check()

    def refused(self, listener: _Listener, status: str) -> None:
        listener.upgraded = True  # its later close is not a second failure
        listener.snapshot = True
        self._fail(listener.index, status)
        if listener.transport is not None:
            listener.transport.close()

    def ready(self, listener: _Listener) -> None:
        self.open[listener.index] = self.ever[listener.index] = True
        self.connected += 1
        self.in_flight.release()
        self._check()

    def lost(self, listener: _Listener) -> None:
        if listener.snapshot:
            if self.open[listener.index]:
                self.open[listener.index] = False
                if not self.done:
                    self.dropped_after_snapshot += 1
            return
        listener.snapshot = True
        self._fail(listener.index, "closed before the snapshot")

    def _check(self) -> None:
        if self.connected + self.given_up >= self.count:
            self.all_ready.set()

    async def connect(self, index: int) -> None:
        await self.in_flight.acquire()
        self.tries[index] += 1
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_connection(lambda: _Listener(self, index), "127.0.0.1", self.port)
            self.transports.append(transport)
        except OSError as exc:
            self._fail(index, f"connect: {type(exc).__name__}")

    async def connect_all(self) -> None:
        started = time.monotonic()
        for index in range(self.count):
            await self.connect(index)
            ahead = started + (index + 1) / self.rate - time.monotonic()
            if ahead > 0:
                await asyncio.sleep(ahead)
        while not self.all_ready.is_set():
            getter = asyncio.ensure_future(self.retry.get())
            waiter = asyncio.ensure_future(self.all_ready.wait())
            finished, _ = await asyncio.wait({getter, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if getter in finished:
                await asyncio.sleep(random.uniform(0.5, 1.0))
                await self.connect(getter.result())
            else:
                getter.cancel()


def _listeners_main(port: int, path: str, count: int, expected: int, conn,  # type: ignore[no-untyped-def]
                    in_flight: int = 200, rate: float = 1000.0, ready_timeout: float = 120.0) -> None:
    # The forked listeners inherit the bench process's heap (the app, and under `make bench` everything
    # the throughput phase left): a full collection of it stalled every listener at once for about
    # 100 ms, a pause of the measuring instrument and not of the server. Frozen, the collector leaves
    # the inherited objects alone.
    gc.freeze()
    raise_nofile()

    async def main() -> None:
        box = _Box(port, path, count, in_flight, rate)
        began = time.monotonic()
        connecting = asyncio.ensure_future(box.connect_all())
        try:
            await asyncio.wait_for(box.all_ready.wait(), ready_timeout)
        except TimeoutError:
            pass
        connecting.cancel()
        conn.send(("ready", {"connected": box.connected, "failures": box.failures,
                             "connect_s": round(time.monotonic() - began, 2),
                             "retried": sum(1 for t in box.tries if t > 1)}))
        deadline = time.monotonic() + 60 + count / 100
        while time.monotonic() < deadline:
            if conn.poll():
                conn.recv()  # the publisher is done; give stragglers a moment
                await asyncio.sleep(1.0)
                break
            if all(len(a) >= expected for a in box.arrivals):
                break
            await asyncio.sleep(0.05)
        box.done = True
        usage = resource.getrusage(resource.RUSAGE_SELF)
        conn.send(("arrivals", {"arrivals": box.arrivals, "resyncs": box.resyncs, "ever": box.ever,
                                "dropped_after_snapshot": box.dropped_after_snapshot,
                                "cpu_s": usage.ru_utime + usage.ru_stime}))
        for transport in box.transports:
            transport.close()
        await asyncio.sleep(0.2)

    asyncio.run(main())


def _server_args(worker_class: str, workers: int) -> list[str]:
    args = list(WORKER_CLASSES[worker_class])
    args[args.index("--workers") + 1] = str(workers)
    return args


def _warm_up(port: int, path: str, sockets: int) -> None:
    """A few sockets opened and closed, so each worker has loaded its routes and started its subscriber."""
    async def main() -> None:
        async def one() -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
            key = base64.b64encode(os.urandom(16)).decode()
            writer.write((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                          f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                          ).encode())
            await reader.readuntil(b"\r\n\r\n")
            await reader.readexactly(2)
            writer.close()

        await asyncio.gather(*(one() for _ in range(sockets)), return_exceptions=True)

    asyncio.run(main())


def run(listeners: int = 1000, events: int = 20, interval: float = 0.1, worker_class: str = "gevent",
        workers: int = 1, processes: int = 1, per_ip_cap: int = 0, memory: bool = False,
        in_flight: int = 200, connect_rate: float = 1000.0, idle_s: float = 0.0) -> dict:
    """`listeners` sockets split over `processes` client processes, on `workers` gunicorn workers;
    `per_ip_cap` is the server's WS_MAX_PER_IP (0: no limit; every listener connects from 127.0.0.1, so
    the default 50 would refuse all but a few); `in_flight` handshakes at most per client process, at
    most `connect_rate` new sockets a second in all; `idle_s` > 0: the server's CPU is also read over that
    long with every socket open and no event (what the open sockets cost by themselves)."""
    raise_nofile()  # the server inherits it: neither gunicorn nor the app raise their own limit
    # Redis pub/sub channels ignore the database number: with the default prefix, a benchmark on another
    # Redis db publishes on the same channel, and its events for its showtime 1 reach these listeners
    # (whose showtime is 1 too). A prefix of this bench's own keeps the channel, and the keys, apart.
    os.environ.setdefault("SEAT_LOCK_PREFIX", "cineverse-bench-" + (urlsplit(BENCH_REDIS_URL).path.strip("/") or "0"))
    seed = prepare(users=max(1, events // 10 + 1))
    showtime = seed["showtime_id"]
    from app.services.seats import holds

    seats = [f"{'ABCDEFGHIJKL'[n // 18]}{n % 18 + 1}" for n in range(events)]
    args = _server_args(worker_class, workers)
    env = {"WS_MAX_PER_IP": str(per_ip_cap)}
    if worker_class == "gevent":  # gunicorn_conf.py's 4000 a worker; one worker may get most of the sockets
        env["GUNICORN_WORKER_CONNECTIONS"] = str(max(4000, listeners + 500))
    path = f"/api/showtimes/{showtime}/seats/ws"
    server: dict = {}
    with gunicorn("wsgi:app", *args, env=env) as port:
        pids = gunicorn_workers()
        server["nofile"] = sorted({nofile_limit(pid) for pid in pids})
        if memory:
            time.sleep(2)  # every worker booted
            _warm_up(port, path, 4 * workers)
            time.sleep(1)
            server["before"] = {pid: memory_kb(pid) for pid in pids}
        cpu_start = cpu_seconds(pids)
        shares = [listeners // processes + (1 if n < listeners % processes else 0) for n in range(processes)]
        ready_timeout = 120 + listeners / 50
        pipes, children, child_ends = [], [], []
        began = time.monotonic()
        for share in shares:
            parent, child = mp.Pipe()
            process = mp.get_context("fork").Process(
                target=_listeners_main,
                args=(port, path, share, events, child, in_flight, connect_rate / processes, ready_timeout))
            process.start()
            pipes.append(parent)
            children.append(process)
            child_ends.append(child)  # kept open: a listener process that is done early must not break the pipe
        ready = [parent.recv()[1] for parent in pipes]
        connect_s = time.monotonic() - began
        cpu_connected = cpu_seconds(pids)
        connected = sum(r["connected"] for r in ready)
        if memory:
            time.sleep(1)
            server["after"] = {pid: memory_kb(pid) for pid in pids}
            server["sockets"] = {pid: open_sockets(pid) for pid in pids}
        if idle_s > 0:
            idle_from, idle_began = cpu_seconds(pids), time.monotonic()
            time.sleep(idle_s)
            server["idle_cores"] = (cpu_seconds(pids) - idle_from) / (time.monotonic() - idle_began)
        cpu_publish = cpu_seconds(pids)
        published: dict[int, float] = {}
        gc.collect()
        gc.freeze()  # the publisher is part of the instrument too (its clock starts before each lock)
        with seed["app"].app_context():
            for n, seat in enumerate(seats):
                started = time.time()
                result = holds.lock(showtime, seed["user_ids"][n // 10], [seat])
                published[int(result.version or 0)] = started
                time.sleep(interval)
        for parent in pipes:
            parent.send("published")
        results = [parent.recv()[1] for parent in pipes]
        cpu_end = cpu_seconds(pids)
        for process in children:
            process.join(30)
    latencies, lost, covered = [], 0, 0
    per_event: dict[int, list[float]] = {version: [] for version in published}
    for result in results:
        rows = zip(result["arrivals"], result["resyncs"], result["ever"], strict=True)
        for per_listener, resyncs, connected_once in rows:
            if not connected_once:
                continue  # never connected (counted in connect_failures)
            seen = dict(per_listener)
            for version, started in published.items():
                if version in seen:
                    latencies.append((seen[version] - started) * 1000)
                    per_event[version].append(latencies[-1])
                else:
                    lost += 1
                    covered += any(v >= version for v in resyncs)
    failures: dict[str, int] = {}
    for r in ready:
        for reason, n in r["failures"].items():
            failures[reason] = failures.get(reason, 0) + n
    out = {"server": "gunicorn wsgi:app " + " ".join(args), "listeners": connected,
           "events": events, "interval_s": interval, "connect_all_s": round(connect_s, 2),
           "deliveries": len(latencies), "lost": lost,
           "p50_ms": round(percentile(latencies, 50), 2), "p90_ms": round(percentile(latencies, 90), 2),
           "p99_ms": round(percentile(latencies, 99), 2), "max_ms": round(max(latencies, default=0), 2),
           # each event's median over the listeners, in publishing order: tells one slow event from a slow tail
           "event_p50_ms": [round(percentile(per_event[v], 50), 1) for v in sorted(per_event)]}
    if processes > 1 or per_ip_cap or memory or failures or covered:
        out.update({
            "listeners_wanted": listeners, "client_processes": processes,
            "server_env": env, "seat_lock_prefix": os.environ["SEAT_LOCK_PREFIX"],
            "per_ip_cap": per_ip_cap or "off (WS_MAX_PER_IP=0)",
            "lost_covered_by_snapshot": covered, "connect_failures": failures,
            "listeners_retried": sum(r["retried"] for r in ready),
            "dropped_after_snapshot": sum(r["dropped_after_snapshot"] for r in results),
            "server_cpu_s": {"connect": round(cpu_connected - cpu_start, 2),
                             "publish": round(cpu_end - cpu_publish, 2)},
            **({"server_cores_idle": round(server["idle_cores"], 3)} if "idle_cores" in server else {}),
            "client_cpu_s": round(sum(r["cpu_s"] for r in results), 2),
            "server_nofile_soft_hard": server["nofile"], "load_average": os.getloadavg(),
        })
    if memory:
        before, after = server["before"], server["after"]
        rss = sum(m["rss_kb"] for m in after.values()) - sum(m["rss_kb"] for m in before.values())
        pss = sum(m["pss_kb"] for m in after.values()) - sum(m["pss_kb"] for m in before.values())
        out["server_memory"] = {
            "workers": [{"pid": pid, "rss_mb_before": round(before[pid]["rss_kb"] / 1024, 1),
                         "rss_mb_after": round(after[pid]["rss_kb"] / 1024, 1),
                         "pss_mb_after": round(after[pid]["pss_kb"] / 1024, 1),
                         "open_sockets": server["sockets"][pid]} for pid in sorted(before)],
            "rss_mb_before": round(sum(m["rss_kb"] for m in before.values()) / 1024, 1),
            "rss_mb_after": round(sum(m["rss_kb"] for m in after.values()) / 1024, 1),
            "rss_kb_per_socket": round(rss / max(1, connected), 1),
            "pss_kb_per_socket": round(pss / max(1, connected), 1),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listeners", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--worker-class", choices=sorted(WORKER_CLASSES), default="gevent")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--processes", type=int, default=1, help="client processes the listeners are split over")
    parser.add_argument("--per-ip-cap", type=int, default=0, help="the server's WS_MAX_PER_IP (0: off)")
    parser.add_argument("--memory", action="store_true", help="the workers' memory per socket")
    parser.add_argument("--cluster", action="store_true", help="the app and the publisher on a 3+3 Redis Cluster")
    ns = parser.parse_args()
    with on_cluster(ns.cluster) as nodes:
        result = run(min(ns.listeners, 20_000), min(ns.events, 200), ns.interval, ns.worker_class,
                     max(1, min(ns.workers, 8)), max(1, min(ns.processes, 16)), max(0, ns.per_ip_cap), ns.memory)
    result["redis"] = f"cluster {nodes}" if nodes else "single"
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
