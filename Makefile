# wetindex: the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev

.PHONY: demo test lint bench web-assets system-deps clean

demo: $(STAMP) web-assets
	$(BIN)/wetindex demo

test: $(DEVSTAMP) web-assets system-deps
	$(BIN)/ruff check wetindex tests pipelines benchmarks notebooks
	$(BIN)/python -m pytest -q --durations=15

lint: $(DEVSTAMP)
	$(BIN)/ruff check wetindex tests pipelines benchmarks notebooks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_terrain.py --size 4000
	$(BIN)/python benchmarks/bench_forecast.py
	$(BIN)/python benchmarks/bench_dynamic.py --size 1000 2000 3000
	$(BIN)/python benchmarks/bench_predict.py
	$(BIN)/python benchmarks/bench_stream.py

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

# What the tests need from Debian, installed here and never from inside pytest:
# Chromium for the browser tests (Playwright cannot download browsers here) and
# PostgreSQL for the real-database test, whose throw-away cluster runs as the system
# user `postgres` (initdb refuses root; Debian's package creates the user). Without
# root, missing packages are named and their tests skip.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian's$$missing for the tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $$missing >/dev/null; \
	elif [ -n "$$missing" ]; then \
	  echo "not root: apt-get install$$missing first, or their tests skip"; \
	fi; \
	if [ "$$(id -u)" = 0 ] && ! id -u postgres >/dev/null 2>&1; then \
	  useradd --system --no-create-home postgres; \
	fi

clean:
	rm -rf var test-artifacts
