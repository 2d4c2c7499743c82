# Two entry points: `make demo` runs the connector's demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test test-postgres lint install clean

$(BIN)/ecm: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/ecm

demo: install
	$(BIN)/ecm demo

lint: install
	$(BIN)/ruff check .

# Runs on SQLite; set ECM_TEST_DATABASE_URL=postgresql+psycopg://... to run the same suite on PostgreSQL.
test: install lint
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# The same suite on the real PostgreSQL server (each run works in a schema of its own).
ECM_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
test-postgres: install
	ECM_TEST_DATABASE_URL=$(ECM_TEST_POSTGRES_URL) $(BIN)/pytest -q
