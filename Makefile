# The two commands: `make run` (install, create the database, deploy the diagram, serve) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
ASSETS := web/static/dist/.built

.PHONY: install system-deps assets chromium run simulate test check fuzz lint bench lock lock-upgrade clean

LOCK   := requirements.lock
# `make lock` regenerates $(LOCK) from pyproject.toml (keeping every pin it can; see the README's
# "Dependencies and the lock file"). Run it after adding, removing or changing a dependency.
LOCK_CMD = $(VENV)/bin/uv pip compile pyproject.toml --extra test --generate-hashes --quiet \
	--python-version 3.11 --python-platform x86_64-unknown-linux-gnu --custom-compile-command 'make lock' -o $(LOCK)

# Exactly the locked versions, each checked against its hash; then the project itself without resolving.
$(STAMP): pyproject.toml $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m pip check || (echo "pyproject.toml and $(LOCK) disagree: run 'make lock'"; exit 1)
	touch $(STAMP)

install: system-deps $(STAMP) $(ASSETS)

# WeasyPrint needs Pango, and the PDFs embed the DejaVu fonts: installed when missing (Debian, as root).
system-deps:
	@if ! fc-list 2>/dev/null | grep -q "DejaVu Sans" || ! ldconfig -p | grep -q libpangoft2-1.0; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      libpango-1.0-0 libpangoft2-1.0-0 fontconfig fonts-dejavu-core; \
	  else echo "missing: Pango and the DejaVu fonts (apt-get install libpangoft2-1.0-0 fonts-dejavu-core)"; \
	       exit 1; fi; fi

# The page bundles (bpmn-js viewer and modeler): npm packages from package-lock.json, built by esbuild.
$(ASSETS): web/package.json web/package-lock.json web/build.mjs $(wildcard web/src/*)
	cd web && npm ci --no-audit --no-fund --loglevel=error && node build.mjs
	touch $(ASSETS)

assets: $(ASSETS)

# The browser tests drive Debian's Chromium; installed here only when it is missing.
chromium:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

run: install
	$(VENV)/bin/kia demo
	$(VENV)/bin/kia serve --host $${HOST:-127.0.0.1} --port $${PORT:-5000}

simulate: install   # the service with a simulated WhatsApp phone in this terminal (no Meta account)
	$(VENV)/bin/kia demo
	$(VENV)/bin/kia whatsapp simulate --host $${HOST:-127.0.0.1} --port $${PORT:-5000}

test: install chromium
	$(PY) -m pytest $(PYTEST_ARGS)

# The benchmark suite (docs/performance.md): one table on stdout, JSON under bench/results/.
# BENCH_ARGS=--quick checks the suite in about two minutes; the full run takes longer (see the doc).
bench: install
	$(PY) -m bench $(BENCH_ARGS)

# A longer property-based run of the API (schemathesis); `make test` runs the same with few examples.
fuzz: install
	KIA_FUZZ_EXAMPLES=$${KIA_FUZZ_EXAMPLES:-300} KIA_FUZZ_RANDOM=1 $(PY) -m pytest tests/test_fuzz_api.py $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .

# For daily work, in a few minutes: the checks CI runs (lint, format, import contracts, types), then the
# suite on SQLite only, without the slow, crash and browser tests. `make test` (and CI) runs everything.
check: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	KIA_TEST_DATABASES=sqlite $(PY) -m pytest -m "not slow and not crash and not browser" $(PYTEST_ARGS)

lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	test -x $(VENV)/bin/uv || $(PY) -m pip install --quiet "$$(grep -m1 '^uv==' $(LOCK) | cut -d' ' -f1)"
	$(LOCK_CMD)

# every dependency to its newest version within pyproject.toml's ranges (PACKAGE=name: only that one)
lock-upgrade:
	test -x $(VENV)/bin/uv || $(MAKE) lock
	$(LOCK_CMD) $(if $(PACKAGE),--upgrade-package $(PACKAGE),--upgrade)

clean:
	rm -rf $(VENV) instance .pytest_cache web/node_modules web/static/dist test-artifacts
