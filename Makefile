# Slate: the one entry point for people and CI.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
SERVICES := $(patsubst services/%/pyproject.toml,%,$(wildcard services/*/pyproject.toml))

.PHONY: install up down restart migrate test test-fast lint format bench fault docs status

$(VENV)/.installed: requirements-dev.txt $(wildcard */pyproject.toml) $(wildcard */*/pyproject.toml)
	test -x $(PY) || python3 -m venv $(VENV)
	mkdir -p var/log
	@echo "installing into $(VENV) (log: var/log/install.log)"
	@( $(PIP) install -q --upgrade pip && \
	   $(PIP) install -q -r requirements-dev.txt && \
	   $(PIP) install -q -e libs/slatekit -e gateway $(addprefix -e services/,$(SERVICES)) \
	 ) > var/log/install.log 2>&1 || { tail -50 var/log/install.log; exit 1; }
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) -m slatekit.migrate --all

up: install
	bash scripts/up.sh

down:
	bash scripts/down.sh

restart: down up

status:
	bash scripts/status.sh

test: install
	bash scripts/test.sh

test-fast: install
	$(PY) -m pytest -q -m "not e2e and not fault" libs services gateway tests

fault: install
	SLATE_FAULT_LONG=1 $(PY) -m pytest -q -m fault tests/fault

lint: install
	$(VENV)/bin/ruff check .

format: install
	$(VENV)/bin/ruff format .

docs: install
	$(PY) scripts/gen_docs.py

bench: install
	$(PY) bench/bench_auth.py
