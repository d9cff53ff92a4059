# Every target makes .venv and installs the project into it when missing, so on a fresh machine
# with Python 3.11+, git and tmux, `make demo` and `make test` are the whole setup.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench soak flake screenshots clean agents

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	# Again without dependencies, forced: pip keeps an installed editable project of the same
	# version as it is, and the gt/bd scripts would keep an entry point pyproject has changed.
	$(BIN)/pip install -q --no-deps --force-reinstall -e .
	# Bytecode up front: where PYTHONDONTWRITEBYTECODE is set, every gt/bd call and every
	# start of the control room would otherwise compile the package from source again.
	$(BIN)/python -m compileall -q gastown_tui > /dev/null
	touch $(STAMP)

# The real agent CLIs (pinned in tests/agents/package.json) for the end-to-end tests; CI runs
# this first. Without them those tests are skipped, saying why.
AGENTS := .agents
agents: $(AGENTS)/.installed
$(AGENTS)/.installed: tests/agents/package.json
	mkdir -p $(AGENTS)
	cp tests/agents/package.json $(AGENTS)/package.json
	cd $(AGENTS) && npm install --no-audit --no-fund --loglevel=error
	touch $@

demo: $(STAMP)
	$(BIN)/gastown-tui demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2 -q

# Every performance figure, side by side with its comparison, into benchmarks/RESULTS.md.
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# The fault suite's long variants: more kills, more processes, more fuzzed inputs (minutes).
soak: $(STAMP)
	GT_SOAK=1 $(BIN)/pytest -q tests/test_reliability_*.py

# The asynchronous tests (tmux, observer, Pilot, demo) N times over, every failure listed with
# its count (not part of CI; minutes per run): `make flake N=20`.
N ?= 20
flake: $(STAMP)
	$(BIN)/python -m tests.flake --runs $(N)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check . || true

# SVG (and PNG, with cairosvg or ImageMagick) pictures of the main screens, from the demo
# fixture town on a private tmux server that is stopped afterwards.
screenshots: $(STAMP)
	$(BIN)/python -m tests.fixtures.screenshots screenshots

clean:
	rm -rf $(VENV) $(AGENTS) build dist *.egg-info
