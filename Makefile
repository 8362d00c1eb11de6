# The README's two commands: `make run` and `make test`. Each creates the virtualenv on first use and installs
# from the hashed lockfiles (requirements.txt for serving, requirements-dev.txt for the tests and tools), so two
# installs a month apart run the same code. `make lock` upgrades the lockfiles from pyproject.toml.
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --quiet --disable-pip-version-check
CODE := gateway adapters tests bench
RUNTIME_STAMP := $(VENV)/.runtime-$(shell cat requirements.txt pyproject.toml | sha1sum | cut -c1-12)
DEV_STAMP := $(VENV)/.dev-$(shell cat requirements-dev.txt pyproject.toml | sha1sum | cut -c1-12)
CHROMIUM ?= /usr/bin/chromium
# Debian packages the browser tests need: Chromium itself, and fonts for Korean text and emoji in screenshots.
BROWSER_PACKAGES := chromium fonts-noto-cjk fonts-noto-color-emoji

.PHONY: install install-dev browser run worker migrate test lint typecheck pytest bench lock upgrade clean

$(BIN)/python:
	python3 -m venv $(VENV)

$(RUNTIME_STAMP): requirements.txt pyproject.toml | $(BIN)/python
	$(PIP) --require-hashes -r requirements.txt
	$(PIP) --no-deps -e .
	rm -f $(VENV)/.runtime-* && touch $@

$(DEV_STAMP): requirements-dev.txt pyproject.toml | $(BIN)/python
	$(PIP) --require-hashes -r requirements-dev.txt
	$(PIP) --no-deps -e .
	rm -f $(VENV)/.dev-* && touch $@

install: $(RUNTIME_STAMP)

install-dev: $(DEV_STAMP)

# The console's browser tests drive Debian's Chromium through Playwright (Playwright's own download does not
# work everywhere). Installed through apt when running as root; otherwise one line says what to install.
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing $(BROWSER_PACKAGES) for the browser tests (apt)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null; \
	  else \
	    echo "The browser tests need Chromium at $(CHROMIUM): run 'sudo apt-get install $(BROWSER_PACKAGES)'" >&2; \
	    exit 1; \
	  fi; \
	fi

run: $(RUNTIME_STAMP)
	$(BIN)/gateway serve

worker: $(RUNTIME_STAMP)
	$(BIN)/gateway worker

migrate: $(RUNTIME_STAMP)
	$(BIN)/gateway migrate

test: lint typecheck pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

pytest: $(DEV_STAMP) browser
	$(BIN)/pytest -q

bench: $(DEV_STAMP)
	$(BIN)/python bench/ingest.py

# `make lock` resolves pyproject.toml changes into both lockfiles, keeping every other pin; `make upgrade` moves
# every pin to the newest version pyproject.toml allows. uv only resolves here; pip installs.
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --quiet
lock upgrade: $(DEV_STAMP)
	$(PIP) uv
	$(UV_COMPILE) $(if $(filter upgrade,$@),--upgrade) -o requirements.txt
	$(UV_COMPILE) $(if $(filter upgrade,$@),--upgrade) --extra dev -o requirements-dev.txt

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
