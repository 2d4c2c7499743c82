# Two entry points: `make demo` runs the connector's demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test test-postgres lint install tools clean

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
	$(BIN)/ruff format --check .

# What the tests run besides Python: Debian's Chromium for the browser tests, Node.js for the ServiceNow
# scripts the sandbox executes, and GitHub's published webhook examples and schemas (npm, pinned by
# tests/fixtures/github/package-lock.json) for the deployment tests; each installed only when missing (a
# machine's own Node.js may bring npm with it, and Debian's npm package conflicts with it), nothing is
# downloaded at test time.
GITHUB_FIXTURES = tests/fixtures/github
tools:
	@missing=""; \
	  command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	  command -v chromedriver >/dev/null 2>&1 || missing="$$missing chromium-driver"; \
	  command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	  command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	  test -z "$$missing" || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null)
	@test -d $(GITHUB_FIXTURES)/node_modules/@octokit/webhooks-examples || \
	  (cd $(GITHUB_FIXTURES) && npm ci --no-audit --no-fund --silent)

# Runs on SQLite; set ECM_TEST_DATABASE_URL=postgresql+psycopg://... to run the same suite on PostgreSQL.
test: install lint tools
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# The same suite on the real PostgreSQL server (each run works in a schema of its own).
ECM_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
test-postgres: install tools
	ECM_TEST_DATABASE_URL=$(ECM_TEST_POSTGRES_URL) $(BIN)/pytest -q
