# Credit Hub. `make run` and `make test` each work alone on a fresh machine with Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test lint format bench soak fuzz schema clean-data

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Credit Hub needs Python 3.11 or newer (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/credit-hub migrate
	$(BIN)/credit-hub demo
	$(BIN)/credit-hub serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache --no-logo

test: lint
	$(BIN)/pytest

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python -m tests.bench

# The load and fault scenarios of tests/soak at full length (SOAK_SECONDS, default 60), with their figures.
soak: install
	$(BIN)/python -m tests.soak

# The schema fuzz at a large size (the suite runs a few hundred examples); HUB_FUZZ_EXAMPLES in total.
HUB_FUZZ_EXAMPLES ?= 5000
fuzz: install
	HUB_FUZZ_EXAMPLES=$(HUB_FUZZ_EXAMPLES) $(BIN)/pytest tests/http/test_fuzz.py -q

schema: install
	$(BIN)/credit-hub schema > schema/hub.graphql

clean-data:
	rm -rf .data
