# Every target bootstraps .venv itself: a fresh clone needs only `make migrations` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: migrations test lint wheel bench soak check clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

migrations: $(STAMP)
	$(PY) -m generator build

check: $(STAMP)
	$(PY) -m generator check

test: $(STAMP) migrations
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check generator cortexdb build tests
	$(PY) -m mypy generator cortexdb

wheel: $(STAMP)
	rm -rf dist
	$(PY) -m build --outdir dist

bench: $(STAMP) migrations
	$(PY) -m benchmarks

soak: $(STAMP) migrations
	CORTEXDB_SOAK=1 $(PY) -m pytest -m soak -p no:cacheprovider

clean:
	rm -rf $(VENV) dist cortexdb/_frozen.py .cache
