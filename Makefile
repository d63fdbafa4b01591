# equity-lake: `make demo` runs the daily_ticks DAG on the offline sample market into ./lake,
# `make test` runs the test suite, `make bench` prints the benchmark ratios.
SHELL := /bin/bash
ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
TOOLS := $(ROOT)/.tools
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
PY := $(ROOT)/.venv/bin/python
export AIRFLOW_HOME ?= $(ROOT)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(ROOT)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(ROOT)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export PYTHONPATH := $(ROOT)/plugins:$(ROOT)/dags$(if $(PYTHONPATH),:$(PYTHONPATH))

.PHONY: install browser demo test bench lint clean requirements image up down

$(TOOLS)/bin/uv:
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

$(ROOT)/.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-extras --compile-bytecode --quiet
	touch $@

install: $(ROOT)/.venv/.synced browser

# The browser tests (tests/browser.py) load our pages in headless Chromium; install it from
# the distribution only when no Chromium is on the PATH (sudo only when not root).
BROWSERS := $(CHROMIUM) chromium chromium-browser google-chrome google-chrome-stable
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
browser:
	@for b in $(BROWSERS); do command -v $$b >/dev/null 2>&1 && exit 0; done; \
	echo "installing chromium for the browser tests"; \
	$(SUDO) apt-get update -qq >/dev/null && \
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

demo: install
	$(PY) scripts/demo.py

test: install
	$(PY) -m pytest

bench: install
	$(PY) benchmarks/run.py

lint: install
	$(ROOT)/.venv/bin/ruff check .
	$(ROOT)/.venv/bin/ruff format --check .

requirements: install
	$(PY) scripts/requirements.py

image:
	bash docker/ingest/build.sh

clean:
	if [ -x $(PY) ]; then $(PY) scripts/airflow_local.py down; fi
	rm -rf $(ROOT)/lake $(AIRFLOW_HOME) $(ROOT)/.bench

up: install
	$(PY) scripts/airflow_local.py up

down:
	$(PY) scripts/airflow_local.py down
