"""The machinery of the generator fuzz tests: `fuzz`, which gives a property its example budget
and its `_soak` twin, and the harness every run goes through.

Hostile input for the generator: whatever the manifest and the SQL files hold, a run ends in
diagnostics (`path:line:col: CODE message`, one per line) and exit 0, 1 or 2, never 123 or a
traceback; a failed run leaves every file as it was (`lint --fix` only ever adds guards); and
text reaches the frozen module only as data. The properties: tests/test_fuzz_sql.py (the library
functions), tests/test_fuzz_projects.py (whole projects, every command), tests/test_fuzz_frozen.py
(text through the frozen module), tests/test_paths.py (paths that leave their folder); what they
draw: tests/fuzz_strategies.py.

The commands run in process (`generator.__main__.main`, about 10 ms a build), each example in a
fresh project five folders deep in a sandbox: whatever a `..` in the manifest points at stays in
the sandbox, where a snapshot shows that nothing outside the outputs was written.

Budgets: `make test` runs the unmarked tests, 3,002 examples (test_fuzz_sql.py 1,650,
test_fuzz_projects.py 1,212, test_fuzz_frozen.py 140; tests/test_paths.py 300 more, and 210 in
test_manifest_runtime.py and test_agreement.py); `make soak` (CORTEXDB_SOAK=1, `-m soak`) runs
their `_soak` twins under the `cortexdb-soak` profile, 60,040 examples (and 6,000 and 4,200).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fuzz_strategies import OUTSIDE, Spec
from fuzz_toml import toml_document
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import note as hypothesis_note
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from project import assert_pure_data

from generator.__main__ import main
from generator.fix import fix_text
from generator.project import load_manifest

# Each test names its example count for `make test`; its soak twin runs SOAK_FACTOR times as many
# under the soak profile. The twins carry the `soak` marker, which tests/conftest.py skips unless
# CORTEXDB_SOAK=1: that variable is what selects the soak profile.
settings.register_profile(
    "cortexdb-fuzz",
    deadline=None,  # a build is ~10 ms, a 100k-character one ~300 ms, on a loaded machine more
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                           HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
    print_blob=True,
)
settings.register_profile("cortexdb-soak", settings.get_profile("cortexdb-fuzz"))
SOAK_FACTOR = 20


def budget(examples: int, *, soak: bool = False) -> settings:
    """Settings for `examples` examples (SOAK_FACTOR times as many for a soak twin)."""
    if soak:
        return settings(settings.get_profile("cortexdb-soak"), max_examples=examples * SOAK_FACTOR)
    return settings(settings.get_profile("cortexdb-fuzz"), max_examples=examples)


def fuzz(examples: int, **strategies: st.SearchStrategy[Any]) -> Callable[[Callable[..., None]], Any]:
    """@given(**strategies) with `examples` examples; `test.soak_twin` is the same property for
    `make soak`, marked `soak` (assign it to a `test_..._soak` name to collect it)."""
    def decorate(body: Callable[..., None]) -> Any:
        test = budget(examples)(given(**strategies)(body))
        test.soak_twin = pytest.mark.soak(budget(examples, soak=True)(given(**strategies)(body)))
        return test

    return decorate


def lines_of(text: str) -> list[str]:
    """The lines of a stream, split at LF only: what a terminal, `grep` or a CI log calls a line."""
    return text.removesuffix("\n").split("\n") if text else []


def line_count(data: bytes) -> int:
    """Lines as diagnostics count them: CRLF, CR and LF each end one."""
    return len(re.findall(rb"\r\n|\r|\n", data)) + 1


# ---------------------------------------------------------------------------------------------
# The harness: a sandboxed project, the generator in process, the contract of every run

PROJECT_IN_SANDBOX = "s1/s2/s3/s4/s5/project"
SENTINEL = b"# hand-made output: a failed build must leave this byte-identical\n"
DIAGNOSTIC = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>[A-Z]{2}\d{3}) (?P<message>.*)$")
# Bugs in files this suite does not own, each with a strict xfail reproducer at the end of
# tests/test_fuzz_projects.py. An example that hits one is discarded, not failed, so that the search goes on for others;
# whoever fixes one drops its entry here and flips its xfail.
KNOWN_CRASHES: dict[tuple[str, str, str], str] = {}  # (file, function, exception) -> reproducer; none now


@dataclass
class Run:
    code: int
    out: str
    err: str


def note(text: str) -> None:
    """hypothesis.note inside a property; a print (shown when the test fails) elsewhere."""
    try:
        hypothesis_note(text)
    except InvalidArgument:
        print(text)


def sandbox(tmp_path: Path) -> Iterator[Path]:
    """The sandbox of one example, `for base in sandbox(tmp_path): ...`; its project is removed
    after it. The folders around the project stay for the next example (making and removing
    folders is most of an example's cost on some disks), so they must be left as they were."""
    base = tmp_path / "sandbox"
    try:
        yield base
    finally:
        shutil.rmtree(base / PROJECT_IN_SANDBOX, ignore_errors=True)
        if snapshot(base) != {"outside/evil.sql": EVIL}:  # the example failed; start the next one afresh
            shutil.rmtree(base, ignore_errors=True)


EVIL = b"CREATE TABLE IF NOT EXISTS evil (x);\n"


def render_manifest(spec: Spec, outside: Path) -> bytes:
    if spec.raw_manifest is not None:
        return spec.raw_manifest
    data = toml_document(spec.data).replace(OUTSIDE, str(outside)).encode("utf-8")
    for kind, at, fragment in spec.text_edits:
        at %= len(data) + 1
        if kind == "truncate":
            data = data[:at]
        elif kind == "insert":
            data = data[:at] + fragment.encode("utf-8") + data[at:]
        elif kind == "crlf":
            data = data.replace(b"\n", b"\r\n")
        elif kind == "cr":
            data = data[:at] + b"\r" + data[at:]
        elif kind == "bom":
            data = b"\xef\xbb\xbf" + data
        elif kind == "invalid":
            data = data[:at] + b"\xff" + data[at:]
        elif kind == "duplicate_line":
            lines = data.split(b"\n")
            lines.insert(at % len(lines), lines[at % len(lines)])
            data = b"\n".join(lines)
    return data


def materialize(spec: Spec, base: Path) -> Path:
    """Write the project five folders deep in `base`; `base/outside` is what escapes would reach."""
    project = base / PROJECT_IN_SANDBOX
    outside = base / "outside"
    (project / "migrations").mkdir(parents=True)
    outside.mkdir(exist_ok=True)
    (outside / "evil.sql").write_bytes(EVIL)
    (project / "cortexdb").mkdir()
    (project / "cortexdb" / "_frozen.py").write_bytes(SENTINEL)
    if spec.lock is not None:
        (project / "migrations.lock").write_bytes(spec.lock)
    for rel, data in spec.files.items():
        path = project / rel
        if path.parent == project / "migrations":
            with suppress(OSError):  # a name this file system refuses (too long): the manifest still lists it
                path.write_bytes(data)
    for link, target in spec.symlinks.items():
        path = project / link
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        with suppress(OSError):
            path.unlink(missing_ok=True)
        with suppress(OSError):  # an earlier link made this path impossible (its folder is a file)
            if target == "LOOP":  # link -> loop.sql -> link
                target = str(path.parent / "loop.sql")
                Path(target).unlink(missing_ok=True)
                Path(target).symlink_to(path)
            path.symlink_to(target.replace("OUTSIDE", str(outside)).replace("PROJECT", str(project)))
    (project / "manifest.toml").write_bytes(render_manifest(spec, outside))
    return project


def run_generator(argv: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch,
                  capsys: pytest.CaptureFixture[str]) -> Run:
    capsys.readouterr()
    with monkeypatch.context() as patch:
        patch.chdir(cwd)
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: a usage error
            code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return Run(code, out, err)


def known_crash(argv: list[str], cwd: Path) -> bool:
    """Whether a run that exited 123 crashes at a place KNOWN_CRASHES names (rerun with --debug)."""
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        main(["--debug", *argv])
    except Exception as exc:  # the crash is what this looks at
        note(f"crash: {''.join(traceback.format_exception(exc))}")
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f"{os.sep}generator{os.sep}" in f.filename]
        if frames:
            where = (Path(frames[-1].filename).name, frames[-1].name)
            return any((*where, kind.__name__) in KNOWN_CRASHES for kind in type(exc).__mro__)
    finally:
        os.chdir(previous)
    return False


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every file (its bytes) and symlink (its target) under `root`, by relative path."""
    found: dict[str, bytes | str] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            if path.is_symlink():
                found[path.relative_to(root).as_posix()] = "-> " + os.readlink(path)
            elif path.is_file():
                found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found


def check_output_format(run: Run, argv: list[str], before: Mapping[str, bytes | str]) -> None:
    options = argv[: argv.index("--")] if "--" in argv else argv  # after "--" come operands
    fmt = options[options.index("--format") + 1] if "--format" in options else "text"
    command = argv[0]
    if fmt == "text":
        for line in lines_of(run.err):
            if command == "lint" and "--fix" in argv and line.startswith("fixed "):
                continue
            if run.code == 2 and line.startswith("usage: "):
                break  # argparse's own usage error
            match = DIAGNOSTIC.match(line)
            assert match, f"not a diagnostic line: {line!r}"
            assert line.isprintable(), f"unprintable characters in {line!r}"
            assert int(match["line"]) >= 1 and int(match["col"]) >= 1
            source = before.get(f"{PROJECT_IN_SANDBOX}/{match['path']}")
            # `new` reports the manifest it appended to, then restored: those lines are gone again.
            # The lock's line numbers: test_lock_lines_are_the_lines_of_the_file.
            if isinstance(source, bytes) and command != "new" and not match["path"].endswith(".lock"):
                assert int(match["line"]) <= line_count(source), f"{line!r} is past the end of {match['path']}"
    elif fmt in ("json", "sarif"):
        document = json.loads(run.out)  # stdout is one document
        if fmt == "json":
            assert all({"path", "line", "col", "code", "message"} <= set(d) for d in document)
            assert all(d["line"] >= 1 and d["col"] >= 1 for d in document)
    else:
        assert all(re.match(r"::(error|warning|notice) file=", line) for line in lines_of(run.out)), run.out


def known_format_bug(run: Run, argv: list[str], spec: Spec | None) -> bool:
    """A diagnostic split over lines by a bug this suite does not own (see KNOWN_CRASHES)."""
    if spec is None:
        return False
    entries = spec.data.get("migration")
    reasons = [str(reason) for entry in entries if isinstance(entry, dict) and isinstance(entry.get("allow"), dict)
               for reason in entry["allow"].values()] if isinstance(entries, list) else []
    if "; allowed (" in run.err and not all(r.isprintable() for r in reasons):
        return True  # test_an_allow_reason_with_a_newline_keeps_mg200_on_one_line
    if any("SQLite rejects this statement" in line and not line.isprintable() for line in lines_of(run.err)):
        return True  # test_sqlite_error_messages_stay_printable
    if argv[0] == "unlock" and not argv[-1].isprintable():
        return True  # test_unlock_keeps_an_odd_target_on_one_line
    odd = any(not Path(rel).name.isprintable() for rel in spec.files)
    return argv[0] == "lint" and "--" in argv and odd  # test_lint_of_a_folder_keeps_odd_file_names_on_one_line


def check_run(run: Run, argv: list[str], project: Path, base: Path, before: Mapping[str, bytes | str],
              spec: Spec | None = None) -> None:
    """The contract of every run, whatever the input."""
    note(f"argv={argv!r} exit={run.code}\nstdout={run.out[-3000:]}\nstderr={run.err[-3000:]}")
    if run.code == 123:
        assume(not known_crash(argv, project))
    assert run.code in (0, 1, 2), run.err
    assert "internal error" not in run.err and "Traceback" not in run.err + run.out
    try:
        check_output_format(run, argv, before)
    except AssertionError:
        assume(not known_format_bug(run, argv, spec))
        raise

    after = snapshot(base)
    changed = {rel for rel in before.keys() | after.keys() if before.get(rel) != after.get(rel)}
    changed = {rel for rel in changed if "/.cache/" not in rel}  # the build cache may come and go
    inside = f"{PROJECT_IN_SANDBOX}/"
    command = argv[0]
    if command == "lint" and "--fix" in argv:  # whatever the exit: guards added to SQL files, nothing else
        # A statement the manifest allows keeps its finding unfixed. Only a valid manifest lets
        # `lint` get as far as fixing, so it loads here whenever a file changed.
        options = argv[: argv.index("--")] if "--" in argv else argv
        manifest = project / (options[options.index("--manifest") + 1] if "--manifest" in options else "manifest.toml")
        allows = {m.path.resolve(): m.allow for m in load_manifest(manifest).migrations
                  } if changed and manifest.exists() else {}
        for rel in changed:
            old, new = before.get(rel), after.get(rel)
            assert rel.endswith(".sql") and isinstance(old, bytes) and isinstance(new, bytes), rel
            allow = allows.get((base / rel).resolve())
            assert new.decode() == fix_text("f.sql", old.decode(), allow=allow), rel
    elif run.code != 0 or command in ("check", "lint"):
        assert not changed, f"exit {run.code} of {command} changed {sorted(changed)}"
    elif command == "build":
        manifest = load_manifest(project / "manifest.toml")
        written = (manifest.output, manifest.index_output, manifest.lock)
        outputs = [Path(os.path.realpath(project / rel)) for rel in written]  # via links
        assert changed <= {path.relative_to(base.resolve()).as_posix() for path in outputs}, changed
        assert_pure_data(project / manifest.output)
        assert_pure_data(project / manifest.index_output)
    elif command == "new":  # an appended manifest entry and one new file
        manifest_path = inside + "manifest.toml"
        old, new = before[manifest_path], after[manifest_path]
        assert isinstance(old, bytes) and isinstance(new, bytes) and new.startswith(old)
        (created,) = changed - {manifest_path}
        assert created.startswith(inside + "migrations/") and created not in before
    else:  # unlock: the lock file only
        assert all(rel.startswith(inside) and not rel.endswith((".sql", ".toml")) for rel in changed), changed


def run_spec(spec: Spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """Run the spec's command in a sandbox, check the contract; after a good build, `check` must
    find everything up to date and a second build must write nothing."""
    for base in sandbox(tmp_path):
        project = materialize(spec, base)
        note(f"manifest:\n{(project / 'manifest.toml').read_bytes()!r}\nfiles: {sorted(spec.files)}")
        before = snapshot(base)
        run = run_generator(spec.argv, project, monkeypatch, capsys)
        with suppress(InvalidArgument):  # outside a property there are no statistics to keep
            event(f"{spec.argv[0]}{' --fix' if '--fix' in spec.argv else ''}: exit {run.code}")
        check_run(run, spec.argv, project, base, before, spec)
        if spec.argv[0] == "build" and run.code == 0:
            built = snapshot(base)
            assert run_generator(["check"], project, monkeypatch, capsys).code == 0
            again = run_generator(["build"], project, monkeypatch, capsys)
            assert again.code == 0 and "wrote" not in again.out, again.out
            assert {k: v for k, v in snapshot(base).items() if "/.cache/" not in k} == {
                k: v for k, v in built.items() if "/.cache/" not in k}
        return run
    raise AssertionError("unreachable")

