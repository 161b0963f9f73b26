# Entry points. Each target installs what it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint format bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 12))' || \
		{ echo "Concord needs Python 3.12 or newer (found: $$($(PYTHON) --version 2>&1)). Set PYTHON=python3.12."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## Fresh machine to a seeded demo on http://127.0.0.1:8000 (SQLite, no broker server, email to var/mail/).
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py rundev $(HOST):$(PORT)

## The whole suite. Set DATABASE_URL and REDIS_URL to run it on PostgreSQL and Redis (as .ci/run does).
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Page performance on a large portfolio (PostgreSQL + gunicorn), then 50 users at once (locust);
## writes docs/benchmarks.md. Drops and recreates BENCH_DATABASE_URL's and LOAD_DATABASE_URL's
## databases. BENCH_ARGS="--reuse" keeps the page dataset; LOAD_ARGS go to bench/load.py.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/concord_bench
LOAD_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/concord_load
bench: install
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/run.py $(BENCH_ARGS)
	LOAD_DATABASE_URL=$(LOAD_DATABASE_URL) $(BIN)/python -m bench.load $(LOAD_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf var/ .pytest_cache .ruff_cache
