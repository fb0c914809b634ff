"""Lock+unlock API throughput against a bare Flask endpoint, same gunicorn server, same run, real Redis.

Each client thread keeps one HTTP/1.1 keep-alive connection. In the lock phase thread i, as user i,
locks its own seat and unlocks it again, so every request succeeds (no 409s) and does the full work:
JWT check, one database query, one Redis EVALSHA (hold + versioned PUBLISH), JSON in and out.
The load generator runs on the same machine and shares its cores with the server.
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time

from bench.common import gunicorn, percentile, prepare


def _seat(n: int) -> str:
    return f"{'ABCDEFGHIJKL'[n // 18]}{n % 18 + 1}"


def _phase(port: int, clients: int, seconds: float, make_requests) -> dict:  # type: ignore[no-untyped-def]
    stop = time.monotonic() + seconds
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures = [0] * clients
    barrier = threading.Barrier(clients + 1)

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        requests_ = make_requests(i)
        barrier.wait()
        while time.monotonic() < stop:
            for method, path, body, headers, expected in requests_:
                started = time.perf_counter()
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                latencies[i].append(time.perf_counter() - started)
                if response.status != expected:
                    failures[i] += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    began = time.monotonic()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    flat = [x for group in latencies for x in group]
    return {"requests": len(flat), "seconds": round(elapsed, 2), "rps": round(len(flat) / elapsed, 1),
            "p50_ms": round(percentile(flat, 50) * 1000, 2), "p99_ms": round(percentile(flat, 99) * 1000, 2),
            "failures": sum(failures)}


def server_args(worker_class: str = "gevent", workers: int = 2, threads: int = 100) -> list[str]:
    """gunicorn arguments: the deployed configuration (app/gunicorn_conf.py, gevent) or the old gthread one."""
    if worker_class == "gevent":
        return ["-c", "app/gunicorn_conf.py", "--workers", str(workers)]
    return ["--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads), "--timeout", "120"]


def _combine(results: list[dict]) -> dict:
    """Totals over the rounds of one phase (percentiles: the worst round's)."""
    total, seconds = sum(r["requests"] for r in results), sum(r["seconds"] for r in results)
    return {"requests": total, "seconds": round(seconds, 2), "rps": round(total / seconds, 1),
            "rps_per_round": [r["rps"] for r in results], "p50_ms": max(r["p50_ms"] for r in results),
            "p99_ms": max(r["p99_ms"] for r in results), "failures": sum(r["failures"] for r in results)}


def run(clients: int = 32, seconds: float = 10.0, workers: int = 2, threads: int = 100,
        worker_class: str = "gevent", rounds: int = 3) -> dict:
    seed = prepare(users=clients)
    showtime = seed["showtime_id"]
    args = server_args(worker_class, workers, threads)

    def bare(_i: int) -> list:
        return [("GET", "/bench/bare", None, {}, 200)]

    def authenticated(i: int) -> list:
        return [("GET", "/bench/auth", None, {"Authorization": f"Bearer {seed['tokens'][i]}"}, 200)]

    def lock_unlock(i: int) -> list:
        headers = {"Authorization": f"Bearer {seed['tokens'][i]}", "Content-Type": "application/json"}
        body = json.dumps({"seat_ids": [_seat(i)]})
        return [("POST", f"/api/showtimes/{showtime}/redis-lock-seats", body, headers, 200),
                ("POST", f"/api/showtimes/{showtime}/redis-unlock-seats", body, headers, 200)]

    phases = {"bare": bare, "auth": authenticated, "lock": lock_unlock}
    runs: dict[str, list[dict]] = {name: [] for name in phases}
    with gunicorn("bench.wsgi_bench:app", *args) as port:
        _phase(port, clients, 2.0, bare)  # warm-up: connections, imports, pools
        _phase(port, clients, 2.0, lock_unlock)
        # The phases alternate in rounds, so a neighbour's load on the shared machine falls on all of them.
        for _round in range(rounds):
            for name, make in phases.items():
                runs[name].append(_phase(port, clients, seconds / rounds, make))
    bare_result, auth_result, lock_result = (_combine(runs[name]) for name in phases)
    return {"server": f"gunicorn {' '.join(args)}", "clients": clients, "rounds": rounds, "bare": bare_result,
            "bare_with_jwt": auth_result, "lock_unlock": lock_result,
            "ratio": round(lock_result["rps"] / bare_result["rps"], 3),
            "ratio_to_jwt_endpoint": round(lock_result["rps"] / auth_result["rps"], 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=100, help="gthread only")
    parser.add_argument("--worker-class", choices=["gevent", "gthread"], default="gevent")
    parser.add_argument("--rounds", type=int, default=3, help="the phases alternate this many times")
    ns = parser.parse_args()
    print(json.dumps(run(ns.clients, min(ns.seconds, 120), ns.workers, ns.threads, ns.worker_class,
                         max(1, min(ns.rounds, 20))), indent=2))


if __name__ == "__main__":
    main()
