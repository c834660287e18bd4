# `make verify`, `make test` and `make compose-verify` set themselves up on a fresh Debian
# machine with Python 3.11: the virtual environment, the Python dependencies and, when run as
# root, Debian's packages they need (compose-verify: also Docker, started when none runs).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := prometheus prometheus-alertmanager docker-compose wrk haproxy busybox-static \
  nodejs npm

.PHONY: verify compose-verify test bench lint setup lock chroma schemas python-venv system-deps catalog dashboards rules deploy clean

# The live proof: every scenario, every alert, against local binaries (about 11 minutes).
verify: setup system-deps chroma
	$(BIN)/python -m loadtest.verify

# The Docker stack as users run it, on a Docker engine: look-alike images, `compose.yaml` up
# at 1 and 3 replicas, the scenarios' alerts through Alertmanager (about 6 minutes).
compose-verify: setup system-deps
	$(BIN)/python -m loadtest.compose

test: setup system-deps chroma schemas lint
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .

setup: $(VENV)/.installed

# Exactly what requirements/dev.txt locks (hashes checked), then the project itself, built
# by the locked setuptools: nothing is resolved at install time. A new lock gets a new
# environment, so that nothing the old one pinned stays behind.
$(VENV)/.installed: requirements/dev.txt pyproject.toml
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || $(MAKE) --no-print-directory python-venv
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# Re-resolve the locks in requirements/ from pyproject.toml (and requirements/*.in), on
# purpose: the newest releases that the declared ranges admit, for Python 3.11 on any
# platform, with hashes. The service's and Locust's locks take dev.txt's versions, so that
# the image runs what the tests ran. Then `make setup` installs the new lock.
LOCK := $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes
lock: setup
	$(LOCK) --upgrade pyproject.toml --extra dev --extra bench requirements/build.in \
	  -o requirements/dev.txt
	$(LOCK) pyproject.toml requirements/build.in -c requirements/dev.txt \
	  -o requirements/service.txt
	$(LOCK) pyproject.toml --extra loadtest requirements/build.in -c requirements/dev.txt \
	  -o requirements/loadtest.txt
	$(LOCK) --upgrade requirements/chroma.in -o requirements/chroma.txt

# A real Chroma server for the tests of the shared document store (its own virtual
# environment: the server package and the service's client package share a module name).
chroma: .chroma/.installed

.chroma/.installed: requirements/chroma.txt
	rm -rf .chroma
	$(PYTHON) -m venv .chroma
	.chroma/bin/pip install --quiet --require-hashes --no-deps -r requirements/chroma.txt
	touch $@

# The schemas deploy/kubernetes/ is checked against (tests/deploy/manifests.py): npm
# packages, exactly as their lock names them.
SCHEMAS := tests/deploy/schemas
schemas: $(SCHEMAS)/node_modules/.installed

$(SCHEMAS)/node_modules/.installed: $(SCHEMAS)/package-lock.json
	npm ci --silent --no-audit --no-fund --prefix $(SCHEMAS)
	touch $@

python-venv:
	@if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; \
	else echo "Python's venv module is missing: run 'sudo apt-get install python3-venv'"; exit 1; fi

system-deps:
	@if ! command -v promtool >/dev/null || ! command -v amtool >/dev/null \
	    || ! command -v docker-compose >/dev/null || ! command -v wrk >/dev/null \
	    || ! command -v haproxy >/dev/null || ! command -v busybox >/dev/null \
	    || ! command -v npm >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages: $(APT_PACKAGES)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null; \
	  else \
	    echo "a tool is missing: run 'sudo apt-get install $(APT_PACKAGES)'"; exit 1; \
	  fi; \
	fi

# Regenerate the metric table of docs/metrics.md from the catalog (app/core/catalog.py).
catalog: setup
	$(BIN)/python -m app.core.metric_table --write

# The benchmarks (bench/, docs/performance.md), side by side in one run (about 22 minutes).
bench: setup system-deps
	$(BIN)/python -m bench

# Regenerate alerts/rules/slo.rules.yml from the SLO table in alerts/slo.py.
rules: setup
	$(BIN)/python -m alerts

# Regenerate dashboards/json/ from the code in dashboards/.
dashboards: setup
	$(BIN)/python -m dashboards

# Regenerate deploy/ (the mixin's outputs, the generated Kubernetes objects) from
# deploy/config.yaml, the rules and the dashboards.
deploy: setup
	$(BIN)/python -m deploy

clean:
	rm -rf $(VENV) .chroma .pytest_cache .ruff_cache .hypothesis $(SCHEMAS)/node_modules
