# CineVerse: `make run` serves the app on http://127.0.0.1:8001, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8001
export FLASK_APP := wsgi
# Where gunicorn's workers and the Celery worker of run / run-stack keep their metrics for /metrics to merge
# (app/metrics.py); emptied at each start.
METRICS_DIR ?= $(CURDIR)/instance/prometheus

.PHONY: run run-stack test lint bench services venv venv-dev frontend browser wrk clean

# ---- set-up -------------------------------------------------------------------------------------
$(BIN)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

$(BIN)/.dev: requirements.txt requirements-dev.txt $(BIN)/.runtime
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

venv: $(BIN)/.runtime
venv-dev: $(BIN)/.dev

# The built frontend is served by Flask at /; rebuilt when its sources change.
frontend:
	@if [ -f frontend/package.json ]; then \
	  cd frontend && { [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; } \
	  && npm run build; \
	fi

# Debian's Chromium for the browser tests (never a downloaded browser build).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Debian's wrk, the load generator of bench/lock_throughput.py.
wrk:
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

# Start this machine's PostgreSQL and Redis when they are down.
services:
	@pg_isready -h 127.0.0.1 -p 5432 -q || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis
	@for i in $$(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && exit 0; sleep 1; done; echo "PostgreSQL or Redis did not start" >&2; exit 1

# ---- run ----------------------------------------------------------------------------------------
# No settings: SQLite + in-process Redis stand-in + in-process tasks, one process.
# DATABASE_URL / REDIS_URL set: PostgreSQL + Redis, with a real Celery worker and beat beside gunicorn.
# gunicorn runs gevent workers from app/gunicorn_conf.py (API and WebSockets alike; bench/RESULTS.md).
run: venv frontend
	$(BIN)/flask db upgrade
	$(BIN)/flask seed --if-empty
	@if [ -n "$$REDIS_URL" ]; then \
	  mkdir -p "$(METRICS_DIR)" && rm -f "$(METRICS_DIR)"/*.db && export PROMETHEUS_MULTIPROC_DIR="$(METRICS_DIR)"; \
	  trap 'kill 0' EXIT INT TERM; \
	  $(BIN)/celery -A celery_app worker -B -Q payments,otp,mail,tickets,celery --loglevel INFO --concurrency 2 & \
	  $(BIN)/gunicorn -c app/gunicorn_conf.py --bind $(HOST):$(PORT) --workers 2 wsgi:app; \
	else \
	  $(BIN)/gunicorn -c app/gunicorn_conf.py --bind $(HOST):$(PORT) --workers 1 wsgi:app; \
	fi

# The whole stack against PostgreSQL and Redis, with Flower on :5555.
run-stack: venv frontend
	@test -n "$$DATABASE_URL" -a -n "$$REDIS_URL" || { echo "set DATABASE_URL and REDIS_URL" >&2; exit 1; }
	$(BIN)/flask db upgrade
	$(BIN)/flask seed --if-empty
	mkdir -p "$(METRICS_DIR)" && rm -f "$(METRICS_DIR)"/*.db
	@# the worker's task metrics join the web scrape; Flower keeps its own metrics at :5555/metrics;
	@# one worker for money and seats, one for sign-in codes, one for what can wait (app.services.tasks.QUEUES)
	trap 'kill 0' EXIT INT TERM; \
	PROMETHEUS_MULTIPROC_DIR="$(METRICS_DIR)" $(BIN)/celery -A celery_app worker -n payments@%h -Q payments \
	  --loglevel INFO --concurrency 2 & \
	PROMETHEUS_MULTIPROC_DIR="$(METRICS_DIR)" $(BIN)/celery -A celery_app worker -n otp@%h -Q otp \
	  --loglevel INFO --concurrency 1 & \
	PROMETHEUS_MULTIPROC_DIR="$(METRICS_DIR)" $(BIN)/celery -A celery_app worker -n mail@%h -Q mail,tickets,celery \
	  --loglevel INFO --concurrency 2 & \
	$(BIN)/celery -A celery_app beat --loglevel INFO & \
	$(BIN)/celery -A celery_app flower --address=127.0.0.1 --port=5555 & \
	PROMETHEUS_MULTIPROC_DIR="$(METRICS_DIR)" $(BIN)/gunicorn -c app/gunicorn_conf.py --bind $(HOST):$(PORT) --workers 2 wsgi:app

# ---- checks -------------------------------------------------------------------------------------
# The hold, seat-map, WebSocket and purchase tests, run a second time with the lock store on a Redis Cluster
# that pytest starts on loopback for that run (tests/conftest.py --on-cluster); tests/cluster, in the first run,
# has the cluster's own tests (failover, slot moves, two hosts).
CLUSTER_TESTS ?= tests/services/test_holds.py tests/services/test_seat_facts.py tests/api/test_holds_api.py \
  tests/api/test_hold_lane.py tests/api/test_seat_map_cache.py tests/realtime/test_seats_ws.py \
  tests/api/test_purchase.py tests/api/test_purchase_razorpay.py tests/api/test_waiting_room.py \
  tests/realtime/test_queue_ws.py

test: services venv-dev frontend
	@if [ -d tests/e2e ] && ls tests/e2e/test_*.py >/dev/null 2>&1; then $(MAKE) --no-print-directory browser; fi
	@if [ -f frontend/package.json ]; then cd frontend && npm test; fi
	$(BIN)/pytest $(PYTEST_ARGS)
	$(BIN)/pytest $(PYTEST_ARGS) --on-cluster $(CLUSTER_TESTS)

lint: venv-dev
	$(BIN)/ruff check app workers tests bench
	$(BIN)/mypy app workers

bench: venv-dev services wrk
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist instance
