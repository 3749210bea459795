# Every target bootstraps .venv itself: a fresh clone needs only `make migrations` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The real libSQL server (sqld) for the remote-backend tests: pinned, checksum-verified.
SQLD_STAMP := .cache/sqld.installed

.PHONY: migrations test lint wheel bench soak check clean mutate mutants

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

$(SQLD_STAMP): $(STAMP) tools/install-sqld
	$(PY) tools/install-sqld --venv $(VENV) >/dev/null
	mkdir -p .cache && touch $(SQLD_STAMP)

migrations: $(STAMP)
	$(PY) -m generator build

check: $(STAMP)
	$(PY) -m generator check

test: $(STAMP) $(SQLD_STAMP) migrations
	$(PY) -m generator check
	$(PY) -m pytest

# Style and types, the layering ([tool.importlinter] in pyproject.toml), and dead code.
lint: $(STAMP)
	$(PY) -m ruff check generator cortexdb build tests benchmarks tools/dead-code
	$(PY) -m mypy generator cortexdb
	$(VENV)/bin/lint-imports --no-cache
	$(PY) tools/dead-code

wheel: $(STAMP)
	rm -rf dist
	$(PY) -m build --outdir dist

# Whole-process timings need the .pyc an installed package has: with PYTHONDONTWRITEBYTECODE set,
# every process would otherwise recompile the 165 KB _frozen.py.
bench: $(STAMP) $(SQLD_STAMP) migrations
	$(PY) -m compileall -q cortexdb && $(PY) -m benchmarks

# Ends with a "soak summary": trials, faults survived and anything lost, per soak test.
soak: $(STAMP) $(SQLD_STAMP) migrations
	CORTEXDB_SOAK=1 $(PY) -m pytest -m soak -p no:cacheprovider -p tests.soak_report

# Mutation testing (mutmut, [tool.mutmut] in pyproject.toml); not part of `make test`: about an
# hour on 2 cores. The mutants tried, by module path: rename a module, rename it here too.
# Of generator/build.py only the writers are tried.
MUTATE := cortexdb._apply.* cortexdb._plan.* cortexdb._ledger.* generator.checksum.* generator.prove.* \
	generator.outputs.x_write_if_changed__mutmut_* generator.outputs.x_write_outputs__mutmut_*
mutate: $(STAMP) $(SQLD_STAMP) migrations
	rm -rf mutants
	CORTEX_SQLD_BIN="$$($(PY) tools/install-sqld --venv $(VENV) 2>/dev/null)" \
		$(VENV)/bin/mutmut run --max-children 2 $(foreach m,$(MUTATE),'$(m)')
	$(VENV)/bin/mutmut export-cicd-stats && cat mutants/mutmut-cicd-stats.json

# The curated mutants of the guarantees, child processes included (tools/mutants); not in `make test`.
mutants: $(STAMP) $(SQLD_STAMP) migrations
	$(PY) tools/mutants

clean:
	rm -rf $(VENV) dist cortexdb/_frozen.py cortexdb/_frozen_index.py .cache mutants
