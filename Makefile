# sciswift: the two commands of the quick start are `make run` and `make test`.
# Both create the virtualenv (.venv) and install what they need on first use.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# One stamp per install: `make run` needs only the runtime extra, `make test`
# (and the other developer targets) the test and dev extras on top.
RUN_STAMP := $(VENV)/.sciswift-run
STAMP     := $(VENV)/.sciswift-dev
ARGS   ?=

.PHONY: run test test-fast fuzz faults soak compat compat-swift compat-h5py bench lint typecheck clean help web web-if-npm

help:
	@echo "make run      start the Swift-compatible server on 127.0.0.1:12345 (test:tester / testing)"
	@echo "make test     run the whole test suite (starts a real Swift all-in-one for its tests)"
	@echo "make compat   run the long oracles: Swift's functional suite and h5py's test suite"
	@echo "make bench    run the benchmarks side by side and print ratios"
	@echo "make fuzz     long runs of the HTTP-layer fuzzers (FUZZ_EXAMPLES=20000) and the format fuzzer (FUZZ_MUTANTS=5000)"
	@echo "make faults   the long fault tests on a 3-node Swift cluster in network namespaces (root)"
	@echo "make soak     30 minutes of mixed load on sciswift serve: memory, files, latency; flat or not"
	@echo "make lint     ruff and mypy"
	@echo "make web      build the /browse/ page (H5Web) with npm into src/sciswift/server/dataapi/site/"

$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[run]'
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP) $(RUN_STAMP)

# The browser at /browse/: built from web/ (H5Web's npm packages) with npm from
# the registry; the built files are not committed. `make run` and `make test`
# build it when npm is there and go on without it when not (the server then
# says how to build it).
SITE := src/sciswift/server/dataapi/site/index.html
WEB_SOURCES := web/package.json web/package-lock.json web/vite.config.js web/index.html $(wildcard web/src/*)

web: $(SITE)

$(SITE): $(WEB_SOURCES)
	cd web && npm ci --no-audit --no-fund --loglevel=error && npx vite build --logLevel warn
	touch $(SITE)

web-if-npm:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory web || \
		echo "make: building the browser failed; the server runs without /browse/ (see above)"; \
	else echo "make: npm not found: /browse/ is not built (the data API works; install Node.js 20+ and run make web)"; fi

run: $(RUN_STAMP) web-if-npm
	$(BIN)/sciswift serve $(ARGS)

test: $(STAMP) web-if-npm
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not saio and not slow and not cluster" $(ARGS)

# A long run of the HTTP-layer fuzzers and of the format fuzzer (make test runs
# bounded ones): FUZZ_MUTANTS mutants per format, seeded by FUZZ_SEED.
FUZZ_EXAMPLES ?= 20000
FUZZ_MUTANTS ?= 5000
FUZZ_SEED ?= 20260513
fuzz: $(STAMP)
	SCISWIFT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) SCISWIFT_FUZZ_EXAMPLES_SERVER=$$(( $(FUZZ_EXAMPLES) / 10 )) \
		$(BIN)/python -m pytest -p no:xdist -q tests/server/wire $(ARGS)
	SCISWIFT_FUZZ_MUTANTS=$(FUZZ_MUTANTS) SCISWIFT_FUZZ_SEED=$(FUZZ_SEED) \
		$(BIN)/python -m pytest -p no:xdist -q -s tests/formats/test_fuzz_formats.py $(ARGS)

# The fault tests on a real 3-node Swift cluster (tests marked `cluster`), long
# version: more data and rounds (make test runs the short one). Needs root.
faults: $(STAMP)
	SCISWIFT_FAULTS=long $(BIN)/python -m pytest -p no:xdist -m cluster -q -rA $(ARGS)

# 30 minutes of mixed load on sciswift serve, sampled every minute (not in make test).
SOAK_MINUTES ?= 30
soak: $(STAMP)
	$(BIN)/python scripts/soak.py --minutes $(SOAK_MINUTES) $(ARGS)

compat: compat-swift compat-h5py

compat-swift: $(STAMP)
	$(BIN)/python scripts/compat_swift.py $(ARGS)

compat-h5py: $(STAMP)
	$(BIN)/python scripts/compat_h5py.py $(ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist src/*.egg-info web/node_modules \
		src/sciswift/server/dataapi/site
