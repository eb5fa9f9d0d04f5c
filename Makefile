# fraudlib — `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
FRAUD  := $(VENV)/bin/fraud
DEMO   ?= demo
DEMO_FROM ?= 2025-01
DEMO_TO   ?= 2025-06
DEMO_ROWS ?= 200000
EXTRAS := local,athena,lab,dev

.DEFAULT_GOAL := help
.PHONY: help venv demo test lint bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "fraudlib needs Python 3.11+"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

venv: $(VENV)/.installed ## create .venv and install fraudlib with all extras

demo: $(VENV)/.installed ## generate 6 labelled months into ./demo, detect each, backtest them
	$(FRAUD) generate --data $(DEMO) --from $(DEMO_FROM) --to $(DEMO_TO) --rows-per-month $(DEMO_ROWS) --seed 7
	@for m in $$($(PY) -m fraudlib.month $(DEMO_FROM) $(DEMO_TO)); do \
		$(FRAUD) detect --data $(DEMO) --month $$m || exit $$?; \
	done
	$(FRAUD) backtest --data $(DEMO) --from $(DEMO_FROM) --to $(DEMO_TO) --output $(DEMO)/backtest.json
	@echo
	@echo "Data:     $(DEMO)/transacciones/anio=YYYY/mes=MM/"
	@echo "Alerts:   $(DEMO)/alertas/anio=YYYY/mes=MM/part-0.parquet"
	@echo "Flagged:  $(DEMO)/sospechosas/anio=YYYY/mes=MM/part-0.parquet"
	@echo "Backtest: $(DEMO)/backtest.json"

test: $(VENV)/.installed ## create/update .venv, lint, and run the whole test suite
	$(VENV)/bin/ruff check fraudlib tests benchmarks lambda
	$(PY) -m pytest

lint: $(VENV)/.installed ## ruff only
	$(VENV)/bin/ruff check fraudlib tests benchmarks lambda

bench: $(VENV)/.installed ## scale and speed measurements (see benchmarks/README.md)
	$(PY) benchmarks/run.py

clean: ## remove the venv, demo data and caches
	rm -rf $(VENV) $(DEMO) .pytest_cache .ruff_cache .hypothesis
