# The two commands a newcomer runs:  `make demo`  and  `make test`.  Both set everything up first.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | sha256sum | cut -c1-16)
# aws-sam-cli has its own venv: its pins (click, boto3) conflict with requirements.txt.
SAM_VENV  := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed-$(shell cat requirements-sam.txt | sha256sum | cut -c1-16)
export SAM_CLI_TELEMETRY := 0
RECORDING ?= tests/data/dev00.wav

.PHONY: setup demo test lint typecheck cfn-lint sam-validate pytest openapi benchmarks clean

setup: $(STAMP) $(SAM_STAMP) .browser-ready .speech-tools-ready

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -r requirements.txt -c constraints.txt
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/agentflow models prepare
	rm -f $(VENV)/.installed-* && touch $@

# `sam` for sam-validate and tests/fidelity/test_sam_build.py (which finds it at .venv-sam/bin/sam).
$(SAM_STAMP): requirements-sam.txt
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip==25.3
	$(SAM_VENV)/bin/pip install --quiet -r requirements-sam.txt
	rm -f $(SAM_VENV)/.installed-* && touch $@

# Debian's Chromium for the widget test (Playwright drives it; no browser download).
.browser-ready:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
	@touch $@

# espeak-ng and sox synthesize the two-voice meetings of tests/speech/test_synthetic_meetings.py.
.speech-tools-ready:
	@command -v espeak-ng >/dev/null 2>&1 && command -v sox >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng sox >/dev/null)
	@touch $@

demo: setup
	$(BIN)/agentflow demo $(RECORDING) --out out/demo

test: setup lint typecheck cfn-lint sam-validate pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Each handler.py is its own top-level module (as in Lambda), so they are checked one by one.
typecheck:
	$(BIN)/mypy
	for f in functions/*/handler.py; do $(BIN)/mypy --no-error-summary $$f || exit 1; done

cfn-lint:
	$(BIN)/cfn-lint template.yaml

sam-validate:
	$(SAM_VENV)/bin/sam validate --lint --template template.yaml

pytest:
	$(BIN)/pytest -q

openapi: setup
	$(BIN)/agentflow openapi --out docs/openapi.json

benchmarks: setup
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(SAM_VENV) .browser-ready .speech-tools-ready .pytest_cache .mypy_cache .ruff_cache out
