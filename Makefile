# CX analytics report template. `make` (or `make help`) lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
CLIENT ?= demo
PERIOD ?=
RENDERER ?= auto
STAMP  := $(VENV)/.setup-done
PERIOD_ARG := $(if $(PERIOD),--period $(PERIOD),)

.PHONY: help setup report reports lab test lint demo-data bench clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name cxlib --display-name "Python (cxlib)" >/dev/null
	@$(PY) -m pip install --quiet "quarto-cli>=1.5" >/dev/null 2>&1 \
	  || echo "note: Quarto could not be installed here (its installer downloads a binary); reports use the offline renderer (pandoc + typst)."
	@touch $(STAMP)

setup: $(STAMP) ## Create .venv with the pinned dependencies, cxlib (editable) and a Jupyter kernel

demo-data: $(STAMP) ## Regenerate the seeded demo data in data/demo (and its truth file)
	$(PY) -m cxlib demo-data

data/demo/customers.csv: | $(STAMP)
	$(PY) -m cxlib demo-data

report: $(STAMP) data/demo/customers.csv ## Render one client's report: make report CLIENT=demo [PERIOD=2026Q3] [RENDERER=auto|quarto|offline]
	$(PY) -m cxlib report --client $(CLIENT) $(PERIOD_ARG) --renderer $(RENDERER)

reports: $(STAMP) data/demo/customers.csv ## Render the report of every client in params/
	$(PY) -m cxlib reports $(PERIOD_ARG) --renderer $(RENDERER)

lab: $(STAMP) ## Open JupyterLab on the notebooks (installs it on first use)
	@$(PY) -c "import jupyterlab" 2>/dev/null || $(PY) -m pip install --quiet "jupyterlab"
	$(VENV)/bin/jupyter lab notebooks/

test: $(STAMP) ## Run the whole test suite (cxlib unit tests and every notebook on the demo params)
	$(PY) -m pytest -q

lint: $(STAMP) ## Lint with ruff
	$(VENV)/bin/ruff check cxlib tests benchmarks

bench: $(STAMP) ## Run the benchmarks (ratios against a plain baseline)
	$(PY) benchmarks/run.py

clean: ## Remove rendered reports and caches (keeps .venv and data)
	rm -rf reports/*/ reports/index.html .pytest_cache .ruff_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
