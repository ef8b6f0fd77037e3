# The two commands of the README: `make run` and `make test`.
.PHONY: run test pdf-tools a11y lint openapi openapi-check lint-openapi clients fuzz bench ci postgres clean

CARGO ?= cargo
VENV ?= .venv
FHIR_VENV ?= .venv-fhir
NODE_TOOLS = tools/clients/node_modules/.installed
A11Y_TOOLS = tools/a11y/node_modules/.installed
CLIENTS = target/clients
PYTHON ?= python3
# The tests create and drop their own databases on this server.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
export TEST_DATABASE_URL

## Run the service on 127.0.0.1:8080 with an embedded SQLite database under ./data/.
run:
	$(CARGO) run --release

## Run every test, against SQLite and PostgreSQL. Fails loudly when PostgreSQL is unreachable.
## The FHIR tests check every bundle with an independent FHIR R4 library, installed here; the
## document tests read the plan's PDF back with poppler-utils and check it with qpdf (Debian's).
test: postgres $(FHIR_VENV)/.installed pdf-tools
	FHIR_VALIDATOR_PYTHON=$(abspath $(FHIR_VENV))/bin/python $(CARGO) test --all-targets

## Make sure the local PostgreSQL answers; start the local cluster when it is installed but stopped.
postgres:
	@pg_isready -q -d "$(TEST_DATABASE_URL)" 2>/dev/null || { \
	  echo "PostgreSQL is not answering at $(TEST_DATABASE_URL); trying to start the local cluster"; \
	  for v in $$(ls /etc/postgresql 2>/dev/null); do pg_ctlcluster --skip-systemctl-redirect $$v main start || true; done; \
	  for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -d "$(TEST_DATABASE_URL)" && exit 0; sleep 1; done; \
	  echo "PostgreSQL is required for the tests: set TEST_DATABASE_URL to a server you can create databases on"; exit 1; }

## poppler-utils (pdftotext, pdfinfo, pdffonts) and qpdf, from Debian's packages, when missing.
pdf-tools:
	@command -v pdftotext >/dev/null && command -v qpdf >/dev/null || { \
	  echo "installing poppler-utils and qpdf for the PDF tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils qpdf >/dev/null; }

## The plan's HTML page as a person sees it: the document tests write Lisa's full plan to
## target/documents/, and axe-core in headless Chromium (Debian's, installed when missing) checks it
## against WCAG 2.1 A and AA on a desktop and a phone screen; the screenshots are written beside it.
a11y: postgres pdf-tools $(FHIR_VENV)/.installed $(A11Y_TOOLS)
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium for the accessibility check"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	FHIR_VALIDATOR_PYTHON=$(abspath $(FHIR_VENV))/bin/python $(CARGO) test --test api -- documents:: me::
	node tools/a11y/check.mjs target/documents/lisa-sqlite.html target/documents/lisa-postgres.html \
	  target/documents/loggutdrag-sqlite.html target/documents/loggutdrag-postgres.html

$(A11Y_TOOLS): tools/a11y/package.json tools/a11y/package-lock.json
	cd tools/a11y && npm ci --no-audit --no-fund
	touch $@

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

## Regenerate the committed OpenAPI document from the code.
openapi:
	$(CARGO) run --quiet -- openapi > openapi/openapi.json

## Validate the committed OpenAPI document with an independent validator.
openapi-check: $(VENV)/.installed
	$(VENV)/bin/openapi-spec-validator openapi/openapi.json

## Lint the OpenAPI document with Redocly's recommended rules (tools/clients/redocly.yaml).
lint-openapi: $(NODE_TOOLS)
	cd tools/clients && npx redocly lint ../../openapi/openapi.json --config redocly.yaml

## Generate a Python client and TypeScript types from the OpenAPI document, type-check a frontend's
## use of the types, and drive the running service with the Python client (tools/clients/smoke.py).
clients: $(VENV)/.installed $(NODE_TOOLS)
	rm -rf $(CLIENTS) && mkdir -p $(CLIENTS)/python $(CLIENTS)/typescript
	$(VENV)/bin/openapi-python-client generate --path openapi/openapi.json --meta none \
	  --config tools/clients/python-client.yaml --output-path $(CLIENTS)/python/sip_client
	cd tools/clients && npx openapi-typescript ../../openapi/openapi.json -o ../../$(CLIENTS)/typescript/sip.d.ts
	cd tools/clients && npx tsc -p tsconfig.json
	PYTHONPATH=$(CLIENTS)/python tools/with-service.sh $(VENV)/bin/python tools/clients/smoke.py

$(NODE_TOOLS): tools/clients/package.json tools/clients/package-lock.json
	cd tools/clients && npm ci --no-audit --no-fund
	touch $@

## Fuzz the running service against its OpenAPI document (schemathesis, bounded in time).
fuzz: $(VENV)/.installed
	VENV=$(VENV) tools/fuzz.sh

## Throughput on SQLite and on a throwaway PostgreSQL cluster: imports BENCH_PLANS (100,000)
## generated plans into a release build, follows the change feed, runs each read and write scenario
## with wrk; prints req/s, latency, statements per request, peak RSS (tools/bench/bench.py).
## BENCH_PEER=1 runs the PostgREST peer of ../shared/bench in the same run and prints the ratios.
bench:
	@command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || sudo apt-get install -y wrk; }
	$(CARGO) build --release
	$(PYTHON) tools/bench/bench.py

$(VENV)/.installed: tools/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tools/requirements.txt
	touch $@

$(FHIR_VENV)/.installed: tools/fhir-requirements.txt
	$(PYTHON) -m venv $(FHIR_VENV)
	$(FHIR_VENV)/bin/pip install --quiet --disable-pip-version-check -r tools/fhir-requirements.txt
	touch $@

ci: lint test a11y openapi-check lint-openapi clients fuzz

clean:
	$(CARGO) clean
	rm -rf $(VENV) $(FHIR_VENV) tools/clients/node_modules
