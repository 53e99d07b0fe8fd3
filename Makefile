# Two entry points: `make demo` (fine-tune the embedded MiniLM on the bundled sarcasm sample) and `make test`.
# Both create or reuse the virtualenv $(VENV) and install the package into it first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.bertft-installed
# torch is pinned here, not in setup.cfg: an unpinned torch resolves to a multi-GB CUDA build.
TORCH_PIN ?= torch==2.13.0
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: install demo test test-slow lint docs mutation clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_PIN)" -e ".[dev,docs,embedded,onnx,hpsearch,ray]"
	touch $(STAMP)

demo: $(STAMP)
	rm -rf outputs/demo_sarcasm
	$(PY) run_classify.py configs/demo_sarcasm.json
	@echo; echo "== test report (outputs/demo_sarcasm/test_report.txt) =="; head -2 outputs/demo_sarcasm/test_report.txt

# The suite without the slow end-to-end group (marked `slow`); CI runs both.
test: $(STAMP)
	$(PY) -m pytest -q -n auto -m "not slow" tests

test-slow: $(STAMP)
	$(PY) -m pytest -q -n auto -m slow tests

docs: $(STAMP)
	$(PY) -m mkdocs build --strict

lint: $(STAMP)
	$(PY) -m ruff check .

# Mutation testing of the data-path modules against their own unit tests (about 40 minutes on 2 cores):
# results/mutation.{json,md}.
mutation: $(STAMP)
	$(PY) -m pip install --quiet -e ".[mutation]"
	$(PY) bench/mutation.py

clean:
	rm -rf outputs .pytest_cache
