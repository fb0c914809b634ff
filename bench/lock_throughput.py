"""Lock+unlock API throughput against a bare Flask endpoint, same gunicorn server, same run, real Redis.

The load comes from wrk (Debian's `wrk` package, C, one thread, epoll), so the client takes a small
share of the two cores instead of the half a Python load generator used to take. bench/wrk_phase.lua
builds the requests: in the lock phase each user (one per connection's worth: `--clients` users) locks
its own seat and unlocks it again in turn, so every request succeeds (no 409s) and does the full work:
JWT check with the revocation test, the hold Lua script (seat facts, hold, versioned PUBLISH), JSON in
and out. The phases alternate in rounds so a neighbour's load on the shared machine falls on all of
them; the client's CPU time (children's rusage) is reported per phase.

The ceiling (bench/ceiling.py, a plain Flask app) runs beside the app in a second gunicorn with the same
configuration, and its phases alternate with the app's in the same rounds, so only one server is under
load at a time: `ceiling_ok` (GET /ok, the bare endpoint) and `ceiling_evalsha` (GET /evalsha, one
EVALSHA round trip to Redis). Targets: lock/ceiling_ok >= 0.6, lock/ceiling_evalsha >= 0.9.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import tempfile
from contextlib import ExitStack
from pathlib import Path

from bench.common import ROOT, gunicorn, on_cluster, prepare, stdout_to_stderr

LUA = ROOT / "bench" / "wrk_phase.lua"
CEILING_APP = "bench.ceiling:app"
# phase -> (server, wrk_phase.lua mode)
PHASES = {"ceiling_ok": ("ceiling", "ok"), "ceiling_evalsha": ("ceiling", "evalsha"),
          "bare": ("app", "bare"), "auth": ("app", "auth"), "lock": ("app", "lock")}
TARGETS = {"lock_to_ceiling_ok": 0.6, "lock_to_ceiling_evalsha": 0.9}


def server_args(worker_class: str = "gevent", workers: int = 2, threads: int = 100) -> list[str]:
    """gunicorn arguments: the deployed configuration (app/gunicorn_conf.py, gevent) or the old gthread one."""
    if worker_class == "gevent":
        return ["-c", "app/gunicorn_conf.py", "--workers", str(workers)]
    return ["--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads), "--timeout", "120"]


def _wrk(port: int, mode: str, tokens: Path, showtime: int, clients: int, seconds: float) -> dict:
    """One bounded wrk run (`wrk -t1 -cN -dS`); returns its summary plus the client's CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(LUA),
         f"http://127.0.0.1:{port}", "--", mode, str(tokens), str(showtime)],
        capture_output=True, text=True, timeout=seconds + 60, check=True,
    ).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(x for x in out.splitlines() if x.startswith("WRK_JSON "))
    data = json.loads(line.removeprefix("WRK_JSON "))
    data["seconds"] = data.pop("duration_us") / 1e6
    data["client_cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return data


def _combine(results: list[dict]) -> dict:
    """Totals over the rounds of one phase (percentiles: the worst round's)."""
    total, seconds = sum(r["requests"] for r in results), sum(r["seconds"] for r in results)
    return {"requests": total, "seconds": round(seconds, 2), "rps": round(total / seconds, 1),
            "rps_per_round": [round(r["requests"] / r["seconds"], 1) for r in results],
            "p50_ms": round(max(r["p50_us"] for r in results) / 1000, 2),
            "p99_ms": round(max(r["p99_us"] for r in results) / 1000, 2),
            "failures": sum(r["non2xx"] + r["socket_errors"] for r in results),
            "client_cores": round(sum(r["client_cpu_s"] for r in results) / seconds, 3)}


def run(clients: int = 32, seconds: float = 10.0, workers: int = 2, threads: int = 100,
        worker_class: str = "gevent", rounds: int = 3, hold_lane: bool = True, ceiling: bool = True) -> dict:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    seed = prepare(users=clients)
    showtime = seed["showtime_id"]
    args = server_args(worker_class, workers, threads)
    phases = [name for name in PHASES if ceiling or PHASES[name][0] == "app"]
    runs: dict[str, list[dict]] = {name: [] for name in phases}
    env = {"HOLD_LANE_ENABLED": "true" if hold_lane else "false"}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as servers:
        ports = {"app": servers.enter_context(gunicorn("bench.wsgi_bench:app", *args, env=env))}
        if ceiling:  # the same configuration (gevent: app/gunicorn_conf.py) serving the plain Flask app
            ports["ceiling"] = servers.enter_context(gunicorn(CEILING_APP, *args, env=env))
        tokens = Path(tmp) / "tokens.txt"
        tokens.write_text("\n".join(seed["tokens"]) + "\n")
        os.chmod(tokens, 0o600)
        # warm-up: connections, imports, pools, the seat cache, the ceiling's script
        for name in ("bare", "lock", *(("ceiling_ok", "ceiling_evalsha") if ceiling else ())):
            server, mode = PHASES[name]
            _wrk(ports[server], mode, tokens, showtime, clients, 2)
        for _round in range(rounds):
            for name in phases:
                server, mode = PHASES[name]
                runs[name].append(_wrk(ports[server], mode, tokens, showtime, clients, seconds / rounds))
    combined = {name: _combine(runs[name]) for name in phases}
    bare, auth, lock = combined["bare"], combined["auth"], combined["lock"]
    result = {"server": f"gunicorn {' '.join(args)}", "hold_lane": hold_lane, "client": f"wrk -t1 -c{clients}",
              "rounds": rounds,
              "load_average": os.getloadavg(), "bare": bare, "bare_with_jwt": auth, "lock_unlock": lock,
              "ratio": round(lock["rps"] / bare["rps"], 3),
              "ratio_to_jwt_endpoint": round(lock["rps"] / auth["rps"], 3)}
    if ceiling:
        ratios = {"lock_to_ceiling_ok": round(lock["rps"] / combined["ceiling_ok"]["rps"], 3),
                  "lock_to_ceiling_evalsha": round(lock["rps"] / combined["ceiling_evalsha"]["rps"], 3)}
        result.update({
            "ceiling": f"gunicorn {' '.join(args)} {CEILING_APP}",
            "ceiling_ok": combined["ceiling_ok"], "ceiling_evalsha": combined["ceiling_evalsha"], **ratios,
            "targets": {name: {"target": f">= {TARGETS[name]}", "met": ratios[name] >= TARGETS[name]}
                        for name in TARGETS},
        })
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=32, help="wrk connections, and users in the lock phase")
    parser.add_argument("--seconds", type=float, default=15.0, help="per phase, split over the rounds")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=100, help="gthread only")
    parser.add_argument("--worker-class", choices=["gevent", "gthread"], default="gevent")
    parser.add_argument("--rounds", type=int, default=3, help="the phases alternate this many times")
    parser.add_argument("--no-hold-lane", dest="hold_lane", action="store_false",
                        help="HOLD_LANE_ENABLED=false: every lock and unlock through the Flask views")
    parser.add_argument("--no-ceiling", dest="ceiling", action="store_false",
                        help="leave out the ceiling app (bench/ceiling.py) and its two phases")
    parser.add_argument("--cluster", action="store_true",
                        help="the app on a 3+3 Redis Cluster started for the run (the ceiling stays on REDIS_URL)")
    ns = parser.parse_args()
    with stdout_to_stderr(), on_cluster(ns.cluster) as nodes:
        result = run(min(ns.clients, 216), min(ns.seconds, 120), ns.workers, ns.threads, ns.worker_class,
                     max(1, min(ns.rounds, 20)), ns.hold_lane, ns.ceiling)
        result["redis"] = f"cluster {nodes}" if nodes else "single"
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
