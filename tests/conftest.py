"""Shared pytest setup: the `soak` marker (long runs, only with CORTEXDB_SOAK=1 / `make soak`)."""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "soak: long stress runs; deselected unless CORTEXDB_SOAK=1 (make soak)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("CORTEXDB_SOAK") == "1":
        return
    skip = pytest.mark.skip(reason="soak test: run with `make soak` (CORTEXDB_SOAK=1)")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)
