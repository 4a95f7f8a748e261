# make run   - install, start the embedded database, ingest the sample collection, serve UI + API
# make test  - install and run the whole test suite against a real embedded PostgreSQL
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME := $(CURDIR)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install run test serve dagster db-start db-stop benchmark clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

db-start: install
	$(BIN)/llamapg db start

db-stop: install
	$(BIN)/llamapg db stop

test: install
	$(BIN)/python -m pytest

run: install
	$(BIN)/llamapg db start
	$(BIN)/llamapg ingest samples/handbook --collection handbook
	@bash scripts/run.sh

serve: install
	$(BIN)/llamapg serve

dagster: install
	$(BIN)/llamapg dagster

benchmark: install
	$(BIN)/python -m benchmarks.retrieval

clean:
	rm -rf $(VENV) .llamapg storage logs history schedules .telemetry .nux
