# The README's two commands: `make demo` (install, run the main job) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test install lint

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/pip || $(PY) -m venv --clear $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	# The speaker encoder's weights only (transcribe/voice.py runs them in NumPy): no torch.
	$(BIN)/pip install -q --no-deps resemblyzer==0.1.4
	touch $@

node_modules/.installed: package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

install: $(BIN)/.installed node_modules/.installed

demo: install
	$(BIN)/python scripts/demo.py

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Each phase prints its seconds ("phase NAME: N s"); the test services' start-up is printed by
# pytest at the end of the run, and the tests' own time is pytest's closing line.
test:
	scripts/timed install $(MAKE) --no-print-directory install
	scripts/timed test-services scripts/install-test-services.sh
	scripts/timed lint $(MAKE) --no-print-directory lint
	$(BIN)/pytest -p no:cacheprovider
