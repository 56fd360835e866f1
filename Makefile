# Every target sets up what it needs first: `make run` and `make test` work on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SPEC := spec/esms-zalo.openapi.yaml
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
NODE_STAMP := node_modules/.installed
SWAGGER_UI := mock_server/ui/static/swagger-ui
UI_ASSETS := $(SWAGGER_UI)/swagger-ui-bundle.js

.PHONY: install java chromium postgresql generate check-generated sdk sdk-ts wheels test run bench fuzz clean

install: $(STAMP) $(NODE_STAMP) $(UI_ASSETS) java chromium postgresql

# openapi-generator (the spec's portability tests; pip's openapi-generator-cli bundles the JAR) runs on Java.
java:
	@command -v java >/dev/null || { apt-get update -qq && apt-get install -y -qq default-jre-headless; }

# The PostgreSQL backend's tests start a throw-away cluster of Debian's PostgreSQL
# (mock_server/testing/postgres_cluster.py); serving on SQLite (`make run`) needs none of it.
postgresql:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq postgresql; }

# The inbox's browser tests (tests/mock_server/ui) drive Debian's chromium with Playwright.
chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; }

# The API docs page of the inbox serves Swagger UI from the package: copied from the npm package
# swagger-ui-dist (pinned in package-lock.json) into package data, so the wheel carries it.
# `make run` needs only this package: `npm ci --omit=dev` installs it alone (the lock pins it).
$(UI_ASSETS): package-lock.json
	@test -d node_modules/swagger-ui-dist || npm ci --omit=dev --no-audit --no-fund
	mkdir -p $(SWAGGER_UI)
	cp node_modules/swagger-ui-dist/{swagger-ui-bundle.js,swagger-ui-standalone-preset.js,swagger-ui.css,LICENSE,NOTICE} $(SWAGGER_UI)/

# Reinstall only when a dependency list changes. Everything (tests, sdkgen, contract kit):
$(STAMP): pyproject.toml setup.py generated/pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ./generated -e '.[test,codegen,contract,postgresql]'
	@touch $(STAMP) $(RUN_STAMP)

# Only what serving needs (`make run`); a full install above counts as one too.
$(RUN_STAMP): pyproject.toml setup.py generated/pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e ./generated -e .
	@touch $(RUN_STAMP)

# The Node tools of the spec's portability tests (Spectral, Prism), as package-lock.json pins them.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(NODE_STAMP)

## generate: regenerate the SDKs in generated/ from the spec (Python, and TypeScript in generated/typescript)
generate: $(STAMP)
	$(PY) -m sdkgen --spec $(SPEC) --out generated

## check-generated: fail if generated/ differs from what the spec produces
check-generated: $(STAMP)
	$(PY) -m sdkgen --spec $(SPEC) --out generated --check

## sdk: build the SDK as its own wheel in dist/ (depends on httpx and pydantic only)
sdk: $(STAMP)
	$(PY) -m pip wheel --quiet --no-deps --wheel-dir dist ./generated
	@ls dist/*.whl

## sdk-ts: build the TypeScript SDK into its npm tarball, dist/esms-zalo-sdk-<version>.tgz (compiled in build/typescript)
sdk-ts: $(NODE_STAMP)
	rm -rf build/typescript && mkdir -p build dist && cp -r generated/typescript build/typescript
	node_modules/.bin/tsc -p build/typescript/tsconfig.json
	npm pack ./build/typescript --pack-destination dist
	@ls dist/*.tgz

## wheels: build the mock's wheel (esms-zalo-mock: mock_server, esms_spec and the specs) and the SDK's in dist/
wheels: $(RUN_STAMP) $(UI_ASSETS)
	rm -rf build generated/build dist/esms_zalo_mock-*.whl dist/esms_zalo_sdk-*.whl  # a stale build/lib would slip old files in
	$(PY) -m pip wheel --quiet --no-deps --wheel-dir dist . ./generated
	@ls dist/*.whl

## test: the whole suite, including spec validation and the generated-code drift check
test: $(STAMP) $(NODE_STAMP) $(UI_ASSETS) java chromium postgresql check-generated
	$(PY) -m pytest

## run: serve the mock with the demo data on http://127.0.0.1:8080 (state in esms-mock.sqlite3)
run: $(RUN_STAMP) $(UI_ASSETS)
	$(VENV)/bin/esms-mock serve --fixtures mock_server/demo_fixtures.yaml

## fuzz: a long schemathesis run against the served mock (1,000 examples per operation: about 44,000 cases, 22 minutes), with progress; then the lenient forms (250 examples per operation)
fuzz: $(STAMP)
	ESMS_FUZZ_EXAMPLES=1000 ESMS_FUZZ_STATEFUL=200 $(PY) -m pytest tests/contract/test_schemathesis_mock.py tests/contract/test_lenient_forms.py -v -p no:cacheprovider --durations=0

## bench: throughput, latency, start-up and memory of the served mock, side by side with Prism and WireMock (Java 17); then one instance on SQLite vs one on PostgreSQL vs two behind HAProxy
bench: $(STAMP) $(NODE_STAMP) postgresql
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	@command -v haproxy >/dev/null || { apt-get update -qq && apt-get install -y -qq haproxy; }
	@java -version 2>&1 | grep -qE 'version "(1[7-9]|[2-9][0-9])' || { apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless; }
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) node_modules dist build .pytest_cache .hypothesis $(SWAGGER_UI)
