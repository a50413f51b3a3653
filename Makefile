# wetindex: the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev

.PHONY: demo test lint bench web-assets browser clean

demo: $(STAMP) web-assets
	$(BIN)/wetindex demo

test: $(DEVSTAMP) web-assets browser
	$(BIN)/ruff check wetindex tests pipelines benchmarks notebooks
	$(BIN)/python -m pytest -q --durations=15

lint: $(DEVSTAMP)
	$(BIN)/ruff check wetindex tests pipelines benchmarks notebooks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_terrain.py --size 4000
	$(BIN)/python benchmarks/bench_forecast.py
	$(BIN)/python benchmarks/bench_dynamic.py --size 1000 2000 3000
	$(BIN)/python benchmarks/bench_predict.py

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEVSTAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP) $@

# Leaflet and the other site assets come from npm at build time (no CDN at run time).
web-assets: web/node_modules/.installed
web/node_modules/.installed: web/package.json web/package-lock.json
	npm ci --prefix web --no-audit --no-fund --loglevel=error
	touch $@

# Debian's Chromium for the browser tests (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf var test-artifacts
