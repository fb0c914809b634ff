"""`make bench`: every scenario, one after the other, each against the ceiling where it has one.

- lock_throughput: lock+unlock throughput (wrk) against the in-app bare endpoint and the ceiling app
  (bench/ceiling.py: /ok and /evalsha) in the same run;
- ws_latency_gevent: WebSocket fan-out latency to 1,000 listeners;
- seatmap_latency: the seat map's throughput against the ceiling, and its open-loop latency at rising
  rates, alone and beside a lock storm (bench/loadgen.py);
- lock_burst: 2,000 users' lock requests at one instant (cold tokens), and again with every token
  already checked once on its connection (warm);
- sellout: 2,000 buyers race through lock, order, dev checkout and verify until 216 seats are sold;
- ws_fanout: 10,000 seat-map WebSockets on one showtime across both workers while seats change;
- waiting_room: 2,000 buyers arrive within 10 s at a showtime whose waiting room admits 100 at a time;
  each buys once admitted (issue 13).

Bounded runs on loopback against the bench database (BENCH_DATABASE_URL, recreated by each scenario) and
Redis db 12 (BENCH_REDIS_URL, flushed). About 11 minutes with the defaults; `--quick` for a few-second
look at everything. Figures and the exact commands are kept in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from bench import lock_burst, lock_throughput, seatmap_latency, sellout, waiting_room, ws_fanout, ws_latency
from bench.common import stdout_to_stderr

SCENARIOS = ("lock_throughput", "ws_latency", "seatmap_latency", "lock_burst", "sellout", "ws_fanout",
             "waiting_room")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(SCENARIOS), help=f"comma-separated subset of {','.join(SCENARIOS)}")
    parser.add_argument("--lock-seconds", type=float, default=15.0, help="lock_throughput: per phase, over 3 rounds")
    parser.add_argument("--ws-events", type=int, default=20, help="ws_latency: events published")
    parser.add_argument("--wrk-seconds", type=float, default=6.0, help="seatmap_latency: closed loop, per phase")
    parser.add_argument("--step-seconds", type=float, default=4.0, help="seatmap_latency: open loop, per step")
    parser.add_argument("--rates", default="250,500,1000,2000", help="seatmap_latency: open-loop req/s steps")
    parser.add_argument("--keep-going", action="store_true", help="seatmap_latency: every rate even when behind")
    parser.add_argument("--burst-users", type=int, default=2000, help="lock_burst: users (one request each)")
    parser.add_argument("--storm-rate", type=float, default=1000.0,
                        help="seatmap_latency: lock+unlock requests/s beside the map (1,000 = 500 of each)")
    parser.add_argument("--buyers", type=int, default=2000, help="sellout: buyers racing for the 216 seats")
    parser.add_argument("--listeners", type=int, default=10_000, help="ws_fanout: seat-map WebSockets")
    parser.add_argument("--queue-buyers", type=int, default=2000, help="waiting_room: buyers arriving in 10 s")
    parser.add_argument("--quick", action="store_true", help="short runs of everything (a look, not figures)")
    ns = parser.parse_args()
    if ns.quick:
        ns.lock_seconds, ns.ws_events, ns.wrk_seconds, ns.step_seconds = 6.0, 10, 2.0, 2.0
        ns.buyers, ns.listeners, ns.queue_buyers = 300, 1000, 300
    rates = tuple(float(r) for r in ns.rates.split(",") if r.strip())
    chosen = [name.strip() for name in ns.only.split(",") if name.strip()]
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    plan: dict[str, list[tuple[str, Callable[[], Any]]]] = {
        "lock_throughput": [("lock_throughput", lambda: lock_throughput.run(clients=32, seconds=ns.lock_seconds))],
        "ws_latency": [("ws_latency_gevent", lambda: ws_latency.run(listeners=1000, events=ns.ws_events,
                                                                     interval=0.1, worker_class="gevent"))],
        "seatmap_latency": [("seatmap_latency", lambda: seatmap_latency.run(
            step_s=ns.step_seconds, rates=rates, wrk_seconds=ns.wrk_seconds, keep_going=ns.keep_going,
            storm_rate=ns.storm_rate))],
        "lock_burst": [("lock_burst_cold", lambda: lock_burst.run(users=ns.burst_users)),
                       ("lock_burst_warm", lambda: lock_burst.run(users=ns.burst_users, warm_tokens=True))],
        "sellout": [("sellout", lambda: sellout.run(buyers=ns.buyers))],
        "ws_fanout": [("ws_fanout", lambda: ws_fanout.run(listeners=ns.listeners))],
        "waiting_room": [("waiting_room", lambda: waiting_room.run(
            buyers=ns.queue_buyers, arrival_s=10.0 if ns.queue_buyers >= 1000 else 3.0, active_limit=100))],
    }
    results: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    for scenario in chosen:
        for name, job in plan[scenario]:
            began = time.monotonic()
            with stdout_to_stderr():
                results[name] = job()
            seconds[name] = round(time.monotonic() - began, 1)
    results["seconds"] = seconds
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
