# CX analytics report template. `make` (or `make help`) lists the targets.
#
# CLIENT, PERIOD and RENDERER reach the commands only as environment variables, quoted by the
# shell ("$$CLIENT"), never pasted into a command line: `make report CLIENT='x;rm -rf ~'` names a
# client that does not exist, it runs nothing. The commands check them again (client names are
# lower-case letters, digits, - and _). GNU make exits 2 whenever a command fails; the exact exit
# code of the run (0, 2, 3, 4, 5, 6) is printed and kept in reports/<client>/last-exit-code, and
# `.venv/bin/cxreport` gives it directly to a scheduler.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
CLIENT ?= demo
PERIOD ?=
RENDERER ?= auto
FORCE ?=
SCALE ?=
STAMP  := $(VENV)/.setup-done
export CLIENT PERIOD RENDERER FORCE SCALE

.PHONY: help setup report reports check new-client lab test test-spark lint demo-data bench clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-11s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --no-compile -r requirements.lock  # bytecode: compiled below, on every core
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name cxlib --display-name "Python (cxlib)" >/dev/null
	@# bytecode written now, in parallel: where PYTHONDONTWRITEBYTECODE is set (CI images, containers) Python
	@# never writes it, and every report would compile its whole stack again in the runner and in each kernel
	@# (the warm demo took 23-25 s instead of 18.5-19 s)
	$(PY) -m compileall -q -j 0 "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" cxlib >/dev/null
	@# quarto-cli's installer downloads the binary from GitHub: tried only when GitHub answers
	@{ $(PY) -c "import urllib.request; urllib.request.urlopen('https://github.com', timeout=5)" >/dev/null 2>&1 \
	  && $(PY) -m pip install --quiet "quarto-cli>=1.5" >/dev/null 2>&1; } \
	  || echo "note: Quarto could not be installed here (its installer downloads a binary); reports use the offline renderer (pandoc + typst)."
	@touch $(STAMP)

setup: $(STAMP) ## Create .venv with the pinned dependencies, cxlib (editable) and a Jupyter kernel

demo-data: $(STAMP) ## Regenerate the demo data and the example clients' exports; SCALE=1 writes the big client to data/scale instead (SCALE=0.05: a twentieth)
	$(PY) -m cxlib demo-data $${SCALE:+--scale "$$SCALE"}

report: $(STAMP) ## Render one client's report: make report CLIENT=demo [PERIOD=2026Q3|2026-07|2026|2026-01-01..2026-03-31|all] [RENDERER=auto|quarto|offline]
	@$(PY) -m cxlib report --client "$$CLIENT" $${PERIOD:+--period "$$PERIOD"} --renderer "$$RENDERER"; \
	  code=$$?; [ $$code -eq 0 ] || echo "exit code $$code (see README: exit codes)"; exit $$code

reports: $(STAMP) ## Render the report of every client in params/ and reports/index.html
	@$(PY) -m cxlib reports $${PERIOD:+--period "$$PERIOD"} --renderer "$$RENDERER"; \
	  code=$$?; [ $$code -eq 0 ] || echo "exit code $$code (the worst of the clients; see README: exit codes)"; exit $$code

check: $(STAMP) ## Check a client's params and every input file; print every problem and the plan: make check CLIENT=x
	@$(PY) -m cxlib check --client "$$CLIENT" $${PERIOD:+--period "$$PERIOD"}

new-client: $(STAMP) ## Draft params/<client>.yml from the files in data/<client>/: make new-client CLIENT=x [FORCE=1]
	@$(PY) -m cxlib new-client --client "$$CLIENT" $${FORCE:+--force}

lab: $(STAMP) ## Open JupyterLab on the notebooks (installs it on first use; works as root)
	@$(PY) -c "import jupyterlab" 2>/dev/null || $(PY) -m pip install --quiet "jupyterlab"
	$(VENV)/bin/jupyter lab notebooks/ $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

test: $(STAMP) ## Run the whole test suite (cxlib unit tests, every notebook, every example client)
	$(PY) -m pytest -q

test-spark: $(STAMP) ## Only the Spark tests (part of make test): the demo on Spark (local[2]), every table equal to DuckDB's
	$(PY) -m pytest -q tests/test_spark.py

lint: $(STAMP) ## Lint with ruff
	$(VENV)/bin/ruff check cxlib tests benchmarks

bench: $(STAMP) ## Run the benchmarks (ratios against a plain baseline)
	$(PY) benchmarks/run.py

clean: ## Remove rendered reports and caches (keeps .venv and data)
	rm -rf reports/*/ reports/index.html .pytest_cache .ruff_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
