"""Scenario 1, on-sale seat map: GET /api/showtimes/{id}/seats throughput and open-loop latency, beside
the ceiling (bench/ceiling.py) in the same run, alone and under a lock storm.

Set-up: one 216-seat showtime (bench.common.prepare); `holders` users hold `per_holder` seats each
(40 by default, locked through the holds service before the servers start, so the map has locked seats
and a holder's map has `mine` marks); the other seats belong to the storm, one user each. The app
(bench.wsgi_bench:app: the real app plus /bench/bare) and the ceiling run in two gunicorns with the
deployed configuration (`-c app/gunicorn_conf.py --workers 2`, gevent); only one of them is loaded at a
time.

(i) throughput, closed loop (wrk, bench/wrk_phase.lua), in alternating rounds: the ceiling's GET /ok,
    the map anonymous, the map with a holder's bearer token (holders in turn). Target: map/ceiling_ok
    >= 0.5.
(ii) latency, open loop (bench/loadgen.py: requests on a fixed schedule, latency from the scheduled
    time) at each rate of `rates`, `step_s` seconds a step: the ceiling's /ok (reference), the map
    alone, then the map while a lock storm runs beside it: `storm_rate` requests/s, every one a lock or
    an unlock by a storm user of its own seat (alternating per user, so every storm request is a 200
    whatever the interleaving), open loop from a second load generator process. The storm starts
    `storm_lead_s` before the map's schedule and ends after it; its own statuses and achieved rate are
    reported. Target: p99 < 50 ms at 1,000 req/s with the storm. Before the steps the storm runs once
    alone for `warmup_s` (`storm_warmup`), so every storm token has been seen by the workers.
    Between steps the driver waits until the app answers GET /bench/bare quickly again, so a step does
    not inherit the previous one's backlog. Once the map or the storm falls behind its schedule (under
    90% of the rate achieved) the higher rates are skipped, unless `keep_going`.

`viewer` picks the map requests of (ii): "auth" (a holder's token, holders in turn; what a signed-in
buyer's page asks) or "anon". One JSON document is printed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import shutil
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import requests

from bench import loadgen
from bench.common import gunicorn, prepare, stdout_to_stderr
from bench.lock_throughput import CEILING_APP, _combine, _wrk, server_args

ROWS, PER_ROW = "ABCDEFGHIJKL", 18
SEATS = [f"{ROWS[n // PER_ROW]}{n % PER_ROW + 1}" for n in range(len(ROWS) * PER_ROW)]
APP = "bench.wsgi_bench:app"
TARGET_RATIO = 0.5
TARGET_P99_MS, TARGET_RATE = 50.0, 1000


def settle(port: int, limit_s: float = 60.0, fast_ms: float = 20.0) -> float:
    """Wait until the app answers GET /bench/bare in under fast_ms three times running (fresh
    connections, so either worker): its queue from the previous step is gone. Returns the seconds waited."""
    began = time.monotonic()
    good = 0
    while good < 3 and time.monotonic() - began < limit_s:
        start = time.monotonic()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=limit_s)
            conn.request("GET", "/bench/bare")
            conn.getresponse().read()
            conn.close()
            good = good + 1 if (time.monotonic() - start) * 1000 < fast_ms else 0
        except OSError:
            good = 0
        time.sleep(0.1)
    return round(time.monotonic() - began, 2)


def _storm_child(url: str, reqs: list[bytes], rate: float, seconds: float, start_at: float, conn: Any) -> None:
    try:
        conn.send(loadgen.open_loop(url, reqs, rate, seconds, start_at=start_at))
    except BaseException as exc:
        conn.send({"crashed": repr(exc)})
        raise


def _brief(result: dict) -> dict:
    keys = ("rate", "sent", "completed", "unfinished", "achieved_rps", "statuses", "errors", "p50_ms", "p90_ms",
            "p99_ms", "max_ms", "send_late_p99_ms", "client_overrun", "connections_peak", "client_cores", "procs")
    return {k: result[k] for k in keys if k in result}


def _behind(result: dict) -> bool:
    """The server did not keep up with the schedule: under 90% of the rate answered by the schedule's
    end (achieved_rps counts to the last answer when that came later), or answers never came."""
    return result["achieved_rps"] < 0.9 * result["rate"] or result["unfinished"] > 0


def run(step_s: float = 4.0, rates: tuple[float, ...] = (250, 500, 1000, 2000), storm_rate: float = 500,
        wrk_seconds: float = 6.0, rounds: int = 2, clients: int = 32, holders: int = 8, per_holder: int = 5,
        viewer: str = "auth", drain_s: float = 3.0, storm_lead_s: float = 0.5, keep_going: bool = False,
        workers: int = 2, warmup_s: float = 3.0) -> dict:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    held_count = holders * per_holder
    storm_users = len(SEATS) - held_count
    if storm_users < 1:
        raise SystemExit("holders x per_holder must leave seats for the storm")
    seed = prepare(users=holders + storm_users)
    showtime, uids, tokens = seed["showtime_id"], seed["user_ids"], seed["tokens"]
    from app.services.seats import holds

    with seed["app"].app_context():
        for h in range(holders):  # held for the whole run (the deadline caps a hold at HOLD_MAX_LIFETIME_S)
            holds.lock(showtime, uids[h], SEATS[h * per_holder:(h + 1) * per_holder], ttl_ms=900_000)
    path = f"/api/showtimes/{showtime}/seats"
    holder_tokens = tokens[:holders]
    map_reqs = ([loadgen.http_request("GET", path, headers={"Authorization": f"Bearer {t}"}) for t in holder_tokens]
                if viewer == "auth" else [loadgen.http_request("GET", path)])
    storm = []
    for action in ("lock", "unlock"):
        for i in range(storm_users):
            body = json.dumps({"seat_ids": [SEATS[held_count + i]]})
            storm.append(loadgen.http_request(
                "POST", f"/api/showtimes/{showtime}/redis-{action}-seats", body=body,
                headers={"Authorization": f"Bearer {tokens[holders + i]}", "Content-Type": "application/json"}))
    args = server_args("gevent", workers)
    ctx = mp.get_context("fork")
    out: dict[str, Any] = {"server": f"gunicorn {' '.join(args)} {APP}", "ceiling": f"gunicorn {' '.join(args)} "
                           f"{CEILING_APP}", "seats": len(SEATS), "held_before": held_count, "viewer": viewer,
                           "storm": {"rate": storm_rate, "users": storm_users,
                                     "requests": "lock, unlock of one's own seat, alternating per user"}}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as servers:
        port = servers.enter_context(gunicorn(APP, *args))
        cport = servers.enter_context(gunicorn(CEILING_APP, *args))
        url, curl = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{cport}"
        body = requests.get(url + path, headers={"Authorization": f"Bearer {holder_tokens[0]}"}, timeout=30)
        if body.status_code != 200:
            raise RuntimeError(f"the seat map answered {body.status_code}: {body.text[:500]}")
        seats = body.json()["seats"]
        out["map_check"] = {"bytes": len(body.content), "seats": len(seats),
                            "locked": sum(1 for s in seats if s.get("status") == "locked"),
                            "mine": sum(1 for s in seats if s.get("mine"))}

        # (i) closed loop
        token_file = Path(tmp) / "tokens.txt"
        token_file.write_text("\n".join(holder_tokens) + "\n")
        os.chmod(token_file, 0o600)
        phases = {"ceiling_ok": (cport, "ok"), "seats_anon": (port, "seats"), "seats_auth": (port, "seats_auth")}
        runs: dict[str, list[dict]] = {name: [] for name in phases}
        for p, mode in phases.values():  # warm-up
            _wrk(p, mode, token_file, showtime, clients, 1)
        for _round in range(rounds):
            for name, (p, mode) in phases.items():
                runs[name].append(_wrk(p, mode, token_file, showtime, clients, wrk_seconds / rounds))
                if p == port:
                    settle(port)
        combined = {name: _combine(r) for name, r in runs.items()}
        ratios = {f"{name}_to_ceiling_ok": round(combined[name]["rps"] / combined["ceiling_ok"]["rps"], 3)
                  for name in ("seats_anon", "seats_auth")}
        out["throughput"] = {"client": f"wrk -t1 -c{clients}", "rounds": rounds, **combined, **ratios,
                             "target": f"map/ceiling_ok >= {TARGET_RATIO}",
                             "met": all(r >= TARGET_RATIO for r in ratios.values())}

        # (ii) open loop. First the storm once on its own: a token's first request in a worker is checked
        # in full and slower by far (bench/lock_burst.py's cold and warm bursts), which is not the steady
        # state a storm beside the map is meant to be.
        settle(port)
        out["storm_warmup"] = _brief(loadgen.open_loop(url, storm, storm_rate, warmup_s, drain_s=drain_s))
        settle(port)
        steps: list[dict] = []
        skipped: list[float] = []
        for rate in rates:
            if skipped or (steps and not keep_going and any(steps[-1]["behind"].values())):
                skipped.append(rate)
                continue
            step: dict[str, Any] = {"rate": rate}
            step["ceiling_ok"] = _brief(loadgen.open_loop(curl, [loadgen.http_request("GET", "/ok")], rate, step_s,
                                                          drain_s=drain_s))
            alone = loadgen.open_loop(url, map_reqs, rate, step_s, drain_s=drain_s)
            step["map"] = _brief(alone)
            step["settle_s"] = [settle(port)]
            parent, child = ctx.Pipe()
            start_at = time.monotonic() + 1.0  # both load generators ready by then
            storm_s = storm_lead_s + step_s + storm_lead_s
            process = ctx.Process(target=_storm_child, args=(url, storm, storm_rate, storm_s, start_at, child))
            process.start()
            with_storm = loadgen.open_loop(url, map_reqs, rate, step_s, drain_s=drain_s,
                                           start_at=start_at + storm_lead_s)
            storm_result = parent.recv()
            process.join(30)
            if "crashed" in storm_result:
                raise RuntimeError(f"storm failed: {storm_result['crashed']}")
            step["map_with_storm"] = _brief(with_storm)
            step["storm"] = _brief(storm_result)
            step["settle_s"].append(settle(port))
            step["behind"] = {"map": _behind(alone), "map_with_storm": _behind(with_storm),
                              "storm": _behind(storm_result)}
            steps.append(step)
        why = "the map or the storm fell behind its schedule at a lower rate" if skipped else None
        out["open_loop"] = {"step_s": step_s, "drain_s": drain_s, "steps": steps, "skipped_rates": skipped,
                            "skipped_because": why}
        at_target = next((s for s in steps if s["rate"] == TARGET_RATE), None)
        p99 = at_target["map_with_storm"]["p99_ms"] if at_target else None
        out["latency_target"] = {"target": f"p99 < {TARGET_P99_MS:g} ms at {TARGET_RATE} req/s with the storm",
                                 "p99_ms": p99,
                                 "met": bool(at_target and p99 is not None and p99 < TARGET_P99_MS
                                             and not at_target["behind"]["map_with_storm"]
                                             and not at_target["behind"]["storm"])}
    with seed["app"].app_context():
        held = holds.snapshot(showtime)[1]
    out["held_after"] = {"by_holders": sum(1 for uid in held.values() if uid in set(uids[:holders])),
                         "by_storm_users": sum(1 for uid in held.values() if uid not in set(uids[:holders]))}
    out["load_average"] = os.getloadavg()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--step-seconds", type=float, default=4.0, help="open loop: seconds per step")
    parser.add_argument("--rates", default="250,500,1000,2000", help="open loop: req/s steps, comma-separated")
    parser.add_argument("--storm-rate", type=float, default=500, help="lock+unlock requests/s beside the map")
    parser.add_argument("--wrk-seconds", type=float, default=6.0, help="closed loop: per phase, over the rounds")
    parser.add_argument("--rounds", type=int, default=2, help="closed loop: the phases alternate this many times")
    parser.add_argument("--clients", type=int, default=32, help="closed loop: wrk connections")
    parser.add_argument("--viewer", choices=["auth", "anon"], default="auth", help="open loop: the map requests")
    parser.add_argument("--drain-seconds", type=float, default=3.0,
                        help="open loop: how long answers are awaited after a step's last slot")
    parser.add_argument("--keep-going", action="store_true", help="run every rate even once the map fell behind")
    ns = parser.parse_args()
    rates = tuple(min(float(r), 20_000) for r in ns.rates.split(",") if r.strip())
    with stdout_to_stderr():
        result = run(min(ns.step_seconds, 120), rates, min(ns.storm_rate, 5000), min(ns.wrk_seconds, 120),
                     max(1, min(ns.rounds, 20)), min(ns.clients, 1000), viewer=ns.viewer,
                     drain_s=min(ns.drain_seconds, 60), keep_going=ns.keep_going)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
