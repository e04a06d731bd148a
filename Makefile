# Everything the project needs is installed here, into .venv; nothing is assumed on the machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The AWS SAM CLI lives in a venv of its own (requirements-sam.txt says why).
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
SAM_STAMP := $(SAM_VENV)/.installed

.PHONY: setup test demo lint bench build clean

setup: $(STAMP) $(SAM_STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(SAM_STAMP): requirements-sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet -r requirements-sam.txt
	touch $(SAM_STAMP)

# sam build into .aws-sam/build. functions/Makefile builds every function and the layer
# for arm64 / CPython 3.12 with pip (the project venv's), so no python3.12 is needed.
build: $(STAMP) $(SAM_STAMP)
	PYTHON=$(abspath $(BIN)/python) $(SAM) build

# pytest on PYTEST_WORKERS processes (pytest-xdist), each with a local cloud of its own; a
# test file stays on one worker, files go out in random order (pytest-randomly), `slow` ones
# first, then those that use the shared cloud together (tests/conftest.py). PYTEST_ARGS adds
# options, e.g. `--randomly-seed=N` to replay an order (README).
# tests/sam_build runs sam build with the SAM CLI from .venv-sam.
# 3 processes on CI's 2 cores: a test process waits (Wait states, delays AWS has) about half
# its time, which a third process fills; a fourth finds no idle core (README, "How the suite
# runs": pytest took 1222 s on 2 processes, 984 s on 3, 961 s on 4 for 9 % more CPU).
PYTEST_WORKERS ?= 3
PYTEST_ARGS ?=
test: $(STAMP) $(SAM_STAMP)
	$(BIN)/ruff check .
	$(BIN)/cfn-lint template.yaml
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/rollout demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(SAM_VENV) .pytest_cache .aws-sam build *.egg-info
