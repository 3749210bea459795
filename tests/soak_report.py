"""pytest plugin for `make soak` (`-p tests.soak_report`): a closing table of the soak figures.

One line per test that ran: trials, faults survived, anything lost. The figures come from:

- `record_property("soak", {"trials", "survived", "lost", "unit", "detail"})` in the test
  (tests/test_soak.py);
- the kill soak in tests/test_runtime_concurrency.py, counted from the outside: each call of
  its `_check_prefix` follows one SIGKILL and checks every database (a call that raises is a
  loss), each `_check_complete` inside the loop is a run that finished before its kill point;
- Hypothesis tests: the statistics Hypothesis collects for each test (valid examples run,
  failing examples, including those run again while shrinking, and distinct failures).

A test without figures still gets a line with its outcome, so nothing is silently left out.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Callable, Generator
from typing import Any

import pytest

_ROWS = pytest.StashKey[list[tuple[str, dict[str, Any]]]]()
_OUTCOMES: dict[str, list[str]] = {}  # nodeid: the outcome of each phase (setup, call, teardown)
_KILL_SOAK = "test_kill_9_soak"
_HYPOTHESIS_CASES = re.compile(r"(\d+) passing, (\d+) failing, and (\d+) invalid")
_HYPOTHESIS_DISTINCT = re.compile(r"Found (\d+) (?:more )?distinct error")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_ROWS] = []


def _counting(function: Callable[..., Any], counts: collections.Counter[str], name: str) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        try:
            result = function(*args, **kwargs)
        except BaseException:
            counts[f"{name} failed"] += 1
            raise
        counts[name] += 1
        return result

    return counted


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    module = getattr(item, "module", None)
    wanted = ("_check_prefix", "_check_complete")
    if item.name != _KILL_SOAK or module is None or not all(hasattr(module, n) for n in wanted):
        yield
        return
    counts: collections.Counter[str] = collections.Counter()
    originals = {name: getattr(module, name) for name in wanted}
    for name, function in originals.items():
        setattr(module, name, _counting(function, counts, name))
    try:
        yield
    finally:
        for name, function in originals.items():
            setattr(module, name, function)
        survived = counts["_check_prefix"]
        finished = max(0, counts["_check_complete"] - 1)  # the last call checks the final re-run
        item.user_properties.append(("soak", {
            "trials": survived + counts["_check_prefix failed"], "unit": "kill -9",
            "survived": survived, "lost": counts["_check_prefix failed"] + counts["_check_complete failed"],
            "detail": f"{finished} runs finished before their kill point; each kill followed by a "
                      "prefix check of every database, then a final re-run to completion",
        }))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    report = (yield).get_result()
    if report.when != "teardown" or not item.get_closest_marker("soak"):
        return
    figures: dict[str, Any] = {}
    for key, value in item.user_properties:
        if key == "soak" and isinstance(value, dict):
            figures = dict(value)
    statistics = getattr(item, "hypothesis_statistics", None)
    if not figures and isinstance(statistics, str):
        passing = failing = invalid = 0
        for match in _HYPOTHESIS_CASES.finditer(statistics):
            passing += int(match.group(1))
            failing += int(match.group(2))
            invalid += int(match.group(3))
        distinct = sum(int(n) for n in _HYPOTHESIS_DISTINCT.findall(statistics))
        detail = f"{invalid} invalid examples discarded by Hypothesis"
        if failing:  # shrinking re-runs a failure many times: say how many different ones there were
            detail += f"; {distinct} distinct failure(s), the failing examples include those tried while shrinking"
        figures = {"trials": passing + failing, "unit": "examples", "survived": passing, "lost": failing,
                   "detail": detail}
    item.config.stash[_ROWS].append((item.nodeid, figures))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _OUTCOMES.setdefault(report.nodeid, []).append(report.outcome)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    rows = config.stash.get(_ROWS, [])
    if not rows:
        return
    terminalreporter.section("soak summary")
    total_lost = 0
    for nodeid, figures in rows:
        outcomes = _OUTCOMES.get(nodeid, [])
        outcome = "failed" if "failed" in outcomes else "skipped" if "skipped" in outcomes else "passed"
        name = nodeid.split("::")[-1]
        if figures:
            total_lost += int(figures["lost"])
            terminalreporter.write_line(
                f"{name}: {outcome}; trials {figures['trials']} {figures['unit']}, survived "
                f"{figures['survived']}, lost {figures['lost']} ({figures['detail']})")
        else:
            terminalreporter.write_line(f"{name}: {outcome}; no figures reported")
    terminalreporter.write_line(f"lost in all: {total_lost}")
