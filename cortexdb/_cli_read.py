"""`cortex db status` and `cortex db verify`: the read-only commands' text and JSON, printed
through `_report`. Loaded only for them (`migrate` on every start never pays for it)."""

from __future__ import annotations

from . import _api, _report
from ._report import PENDING

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    class Options(Protocol):
        """What these commands read of `_cli.Options` (not imported: `_cli` imports this module)."""

        command: str
        data_dir: str
        databases: list[str]
        urls: dict[str, str]
        busy_timeout: float
        format: str
        check: bool
        quiet: bool
        verbose: bool

        @property
        def verbosity(self) -> int: ...


def run(options: Options, frozen: object | None) -> int:
    return _status(options, frozen) if options.command == "status" else _verify(options, frozen)


def _status(options: Options, frozen: object | None) -> int:
    rows = _api.each_status(options.data_dir, databases=options.databases or None, urls=options.urls or None,
                            busy_timeout=options.busy_timeout, frozen=frozen)
    attention = pending = False
    if options.format == "json":
        stream = _report.JsonStream({"data_dir": _report.absolute(options.data_dir)})
        for status in rows:
            attention = attention or _report.status_attention(status)
            pending = pending or bool(status.pending)
            stream.add(_report.status_json(status))
        stream.close()
        return 1 if attention else PENDING if options.check and pending else 0
    tallies = _report.Tallies()
    for status in rows:
        needs = _report.status_attention(status)
        attention = attention or needs
        pending = pending or bool(status.pending)
        if status.session and options.verbosity == _report.NORMAL:
            tallies.add(status.name, _report.status_state(status))
        elif options.verbosity == _report.QUIET and not needs:
            continue
        if needs or not status.session or options.verbose:
            print(_report.row(status.name, status.path, options.data_dir, _report.status_text(status)))
    for line in tallies.lines():
        print(line)
    return 1 if attention else PENDING if options.check and pending else 0


def _verify(options: Options, frozen: object | None) -> int:
    checks = _api.each_check(options.data_dir, databases=options.databases or None, urls=options.urls or None,
                             busy_timeout=options.busy_timeout, frozen=frozen)
    drifted = 0
    if options.format == "json":
        stream = _report.JsonStream({"data_dir": _report.absolute(options.data_dir)})
        for check in checks:
            drifted += not check.ok
            stream.add(_report.check_json(check))
        stream.close({"ok": not drifted})
        return 1 if drifted else 0
    tallies = _report.Tallies()
    for check in checks:
        drifted += not check.ok
        if check.session and options.verbosity == _report.NORMAL:
            tallies.add(check.name, "ok" if check.ok else "DRIFT (listed above)")
        elif options.verbosity == _report.QUIET and check.ok:
            continue
        if not check.ok or not check.session or options.verbose:
            for line in _report.check_lines(check, options.data_dir):
                print(line)
    if not options.quiet:
        for line in tallies.lines():
            print(line)
        print(f"drift in {drifted} database(s)" if drifted else "no drift")
    return 1 if drifted else 0
