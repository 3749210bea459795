"""Shared pytest setup: the `soak` marker (long runs, only with CORTEXDB_SOAK=1 / `make soak`)."""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "soak: long stress runs; deselected unless CORTEXDB_SOAK=1 (make soak)"
    )
    # `make mutate`: while mutmut maps functions to tests ("stats"), a child process would try to
    # record its calls too and fail to find mutmut's config from its own working directory.
    # mutmut keeps the mode in this process without the variable; children run unmutated code.
    # (While a mutant is tried, children inherit its name and run it, as they should.)
    if os.environ.get("MUTANT_UNDER_TEST") == "stats":
        del os.environ["MUTANT_UNDER_TEST"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("CORTEXDB_SOAK") == "1":
        return
    skip = pytest.mark.skip(reason="soak test: run with `make soak` (CORTEXDB_SOAK=1)")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)
