"""The hot lock path in one folder: the plain lock/unlock lane in front of Flask's dispatch (lane.py), the
work it shares with the views (holds_work.py), the JWT claims cache (jwt_cache.py) and the revocation step
the hold scripts run (revocation_step.py). bench/RESULTS.md says why it exists."""
