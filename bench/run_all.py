"""`make bench`: lock+unlock throughput against a bare endpoint (driven by wrk), then WebSocket fan-out latency.

Bounded runs on loopback against the bench database (BENCH_DATABASE_URL, recreated) and Redis db 12
(BENCH_REDIS_URL, flushed). Figures and the exact commands are kept in bench/RESULTS.md.
"""

from __future__ import annotations

import json

from bench import lock_throughput, ws_latency


def main() -> None:
    results = {
        "lock_throughput": lock_throughput.run(clients=32, seconds=15.0),
        "ws_latency_gevent": ws_latency.run(listeners=1000, events=20, interval=0.1, worker_class="gevent"),
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
