# The two set-up commands of the README. Both are idempotent and set everything up first.
SHELL := /bin/bash
PY := .venv/bin/python
# On machines whose TLS goes through an intercepting proxy, the system bundle carries its CA;
# baking it into the base and gold images lets pip inside builds trust it. Override freely.
export STUDIO_EXTRA_CA_BUNDLE ?= $(wildcard /etc/ssl/certs/ca-certificates.crt)
PG_URL ?= postgres://postgres@127.0.0.1:5432/studio
REDIS_TEST_URL ?= redis://127.0.0.1:6379/14

.PHONY: run test setup lint worker
run:
	scripts/setup run
	$(PY) manage.py studio_serve

# Pass 1: the whole suite in the embedded mode (SQLite, in-memory layer, memory:// broker).
# Pass 2: everything that needs no Docker again in the scale mode (PostgreSQL, Redis layer and broker).
test:
	scripts/setup test
	.venv/bin/ruff check .
	.venv/bin/pytest $(PYTEST_ARGS)
	DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS_TEST_URL) .venv/bin/pytest -m "not docker and not browser and not harness and not llm" $(PYTEST_ARGS)

setup:
	scripts/setup run

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

# Scale mode: one of these per Docker host (see README, "Scale mode").
worker:
	.venv/bin/celery -A studio worker -Q build,episode,validate,solve --concurrency $${STUDIO_WORKER_CONCURRENCY:-2} -l info
