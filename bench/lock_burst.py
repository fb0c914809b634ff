"""Scenario 2, the on-sale instant: `users` signed-in users each send ONE lock request for 1-2 seats of
one 216-seat showtime, all at the same instant.

Each user has its own bearer token (bench.common.prepare) and its own pre-opened keep-alive connection;
bench/loadgen.py's burst opens every connection first, then writes every request in one tight loop and
reads the answers. The seats are drawn at random (`rng_seed`): one seat, or two side by side in a row,
so most users collide with someone and must get 409 seat_taken. Every status and error code (the JSON
body's error.code, app/errors.py) is counted. Target: only 200 and 409 (no 5xx).

Afterwards the showtime's holds are read from Redis (holds.snapshot) and checked against the 200s:
no seat granted to two users, every granted seat held by its grantee, and no seat held by a user
whose request did not get a 200.

`warm_tokens`: each user first sends GET /bench/auth on its connection (so its token was checked in
full once by that worker, as when the buyer's page loaded the seat map signed in); off by default, so
the burst also pays every token's first full check.

The app is bench.wsgi_bench:app (the real app plus /bench/bare and /bench/auth) under the deployed
configuration (`-c app/gunicorn_conf.py --workers 2`, gevent). One JSON document is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections import Counter

from bench import loadgen
from bench.common import gunicorn, prepare, stdout_to_stderr
from bench.lock_throughput import server_args
from bench.seatmap_latency import PER_ROW, SEATS

APP = "bench.wsgi_bench:app"


def pick_seats(users: int, rng_seed: int = 1) -> list[list[str]]:
    """One seat, or two adjacent in a row, per user, at random."""
    rng = random.Random(rng_seed)
    picks = []
    for _ in range(users):
        n = rng.randrange(len(SEATS))
        if rng.random() < 0.5:
            picks.append([SEATS[n]])
        else:
            n = n - 1 if n % PER_ROW == PER_ROW - 1 else n
            picks.append([SEATS[n], SEATS[n + 1]])
    return picks


def run(users: int = 2000, rng_seed: int = 1, procs: int = 1, warm_tokens: bool = False, timeout: float = 60.0,
        workers: int = 2) -> dict:
    began = time.monotonic()
    seed = prepare(users=users)
    prepare_s = time.monotonic() - began
    showtime, uids, tokens = seed["showtime_id"], seed["user_ids"], seed["tokens"]
    picks = pick_seats(users, rng_seed)
    path = f"/api/showtimes/{showtime}/redis-lock-seats"
    reqs = [loadgen.http_request("POST", path, body=json.dumps({"seat_ids": seats}),
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            for seats, token in zip(picks, tokens, strict=True)]
    warm = ([loadgen.http_request("GET", "/bench/auth", headers={"Authorization": f"Bearer {t}"}) for t in tokens]
            if warm_tokens else None)
    args = server_args("gevent", workers)
    with gunicorn(APP, *args) as port:
        result = loadgen.burst(f"http://127.0.0.1:{port}", reqs, procs=procs, timeout=timeout, keep_bodies=True,
                               warm=warm)
    from app.services.seats import holds

    with seed["app"].app_context():
        held = holds.snapshot(showtime)[1]  # label -> holder, live holds only

    granted: dict[str, list[str]] = {}
    for uid, (status, _key, _ms, body) in zip(uids, result["results"], strict=True):
        if status == 200:
            for label in json.loads(body)["seat_ids"]:
                granted.setdefault(label, []).append(uid)
    winners = {uid for uid, r in zip(uids, result["results"], strict=True) if r[0] == 200}
    double = {label: who for label, who in granted.items() if len(who) > 1}
    not_held_by_grantee = sorted(label for label, who in granted.items() if held.get(label) not in who)
    held_without_200 = sorted(label for label, uid in held.items() if uid not in winners)
    statuses: dict[str, int] = result["statuses"]
    classes: Counter[str] = Counter()
    for key, n in statuses.items():
        classes[key.split()[0][0] + "xx" if key[:1].isdigit() else "no_answer"] += n
    only_200_409 = all(key.split()[0] in ("200", "409") for key in statuses)
    result.pop("results")
    return {
        "server": f"gunicorn {' '.join(args)} {APP}", "users": users, "seats": len(SEATS),
        "seats_asked": sum(len(p) for p in picks), "distinct_seats_asked": len({s for p in picks for s in p}),
        "warm_tokens": warm_tokens, "prepare_s": round(prepare_s, 2),
        **result, "status_classes": dict(sorted(classes.items())),
        "target": "only 200 and 409, no 5xx", "met": only_200_409,
        "seats_granted": len(granted), "users_granted": len(winners), "seats_held_after": len(held),
        "double_granted": double, "granted_not_held_by_grantee": not_held_by_grantee,
        "held_without_200": held_without_200,
        "consistent": not double and not not_held_by_grantee and not held_without_200,
        # gunicorn closes a connection idle for `keepalive` (5 s, app/gunicorn_conf.py): the first ones opened
        # wait open_all_s for the release, and would fail as no_answer past it
        "opened_within_keepalive": result["open_all_s"] < 5.0,
        "load_average": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=2000, help="clients: one connection and one lock request each")
    parser.add_argument("--seed", type=int, default=1, help="of the random seat picks")
    parser.add_argument("--procs", type=int, default=1, help="client processes (one barrier releases them all)")
    parser.add_argument("--warm-tokens", action="store_true",
                        help="each user's token checked once on its connection (GET /bench/auth) before the burst")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds the answers are awaited")
    ns = parser.parse_args()
    with stdout_to_stderr():
        result = run(min(ns.users, 10_000), ns.seed, max(1, min(ns.procs, 8)), ns.warm_tokens, min(ns.timeout, 300))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
