"""Scenario 4, everyone watching: 10,000 seat-map WebSocket listeners on one showtime while seats change.

bench/ws_latency.py does the work: gunicorn `-c app/gunicorn_conf.py --workers 2` (gevent) serving
`wsgi:app`, the listeners split over 4 forked asyncio client processes (2,500 each), the publisher
locking one seat per event through the holds service. Reported: delivery latency p50/p99/max, lost
events, and the server's memory per socket: the workers' VmRSS (and Pss) summed over the worker pids
before the listeners connect and once all are connected, the difference over the listener count; and
`server_cores_idle`, the workers' CPU with every socket open and no event (each socket's handler wakes
about once a second to poll its queue, app/realtime/hub.py `serve`).

    .venv/bin/python -m bench.ws_fanout                       # 10,000 listeners, 4 client processes
    .venv/bin/python -m bench.ws_fanout --listeners 2000 --events 10   # a quick check

Limits the bench sets for its server, and why:
- WS_MAX_PER_IP (app/config.py, app/realtime/ipslots.py): every listener connects from 127.0.0.1, so the
  default 50 sockets per address would refuse all but 50. It is raised to listeners + 1,000, not turned
  off, so each socket still takes and renews its Redis slot as it would from its own address.
- GUNICORN_WORKER_CONNECTIONS (app/gunicorn_conf.py, 4,000 a worker): raised to listeners + 500, since
  gunicorn does not spread sockets evenly and one worker may be handed most of them.
- Open files: neither gunicorn nor the app raise RLIMIT_NOFILE; the server inherits the bench process's,
  which raises its soft limit to the hard one first (the client processes too). The workers' limits are
  in the output (`server_nofile_soft_hard`).
"""

from __future__ import annotations

import argparse
import json

from bench import ws_latency


def run(listeners: int = 10_000, events: int = 20, interval: float = 1.0, processes: int = 4, workers: int = 2,
        per_ip_cap: int | None = None, in_flight: int = 200, connect_rate: float = 1000.0,
        idle_s: float = 5.0) -> dict:
    cap = per_ip_cap if per_ip_cap is not None else min(100_000, listeners + 1000)
    result = ws_latency.run(listeners=listeners, events=events, interval=interval, worker_class="gevent",
                            workers=workers, processes=processes, per_ip_cap=cap, memory=True,
                            in_flight=in_flight, connect_rate=connect_rate, idle_s=idle_s)
    return {"scenario": "everyone watching",
            "note": (f"WS_MAX_PER_IP={cap} for the server (all listeners share 127.0.0.1; the default is 50), "
                     f"GUNICORN_WORKER_CONNECTIONS={result['server_env'].get('GUNICORN_WORKER_CONNECTIONS')}; "
                     "RLIMIT_NOFILE soft raised to hard in the bench process, inherited by the server"),
            **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listeners", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between seat changes")
    parser.add_argument("--processes", type=int, default=4, help="client processes the listeners are split over")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--per-ip-cap", type=int, default=None,
                        help="the server's WS_MAX_PER_IP (default listeners + 1000; 0 turns the limit off)")
    parser.add_argument("--in-flight", type=int, default=200, help="handshakes at once per client process")
    parser.add_argument("--connect-rate", type=float, default=1000.0, help="new sockets a second, in all")
    parser.add_argument("--idle", type=float, default=5.0,
                        help="seconds the server's CPU is read with every socket open and no event (0: skip)")
    ns = parser.parse_args()
    print(json.dumps(run(min(ns.listeners, 18_000), min(ns.events, 200), ns.interval, max(1, min(ns.processes, 16)),
                         max(1, min(ns.workers, 8)), ns.per_ip_cap, max(1, ns.in_flight),
                         max(10.0, ns.connect_rate), max(0.0, min(ns.idle, 120))), indent=2))


if __name__ == "__main__":
    main()
