"""What the wheel's build hook (build/hook.py) asks of the generator, in one call: build, refuse
what must not ship, and write the two generated modules the wheel carries."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .build import build
from .diagnostics import GeneratorError, Severity
from .outputs import stale_outputs, write_outputs
from .project import read_project
from .report import format_diagnostics


@dataclass(frozen=True)
class WheelOutputs:
    """`artifacts`: the written modules, absolute; `warnings`: one line each, for the build's
    log; `refusal`: why the wheel must not be built (then nothing was written)."""

    artifacts: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    refusal: str | None = None


def wheel_outputs(manifest: Path) -> WheelOutputs:
    """Build the project of `manifest` and write the frozen module and its index.

    A wheel build never writes `migrations.lock` (it may run in a user's checkout, e.g. `pip
    install .`): it refuses instead when the lock is not up to date, so no release carries a
    migration whose lock line was never committed.
    """
    try:
        result = build(read_project(manifest))
    except GeneratorError as exc:
        return WheelOutputs(refusal=f"cortexdb: the manifest does not build:\n{exc}")
    if result.failed:
        return WheelOutputs(refusal="cortexdb: the migrations do not build:\n"
                            + format_diagnostics(result.diagnostics, "text") + f"\n{result.summary()}")
    lock = result.manifest.lock
    stale_lock = stale_outputs(result, only={lock})
    if stale_lock:
        return WheelOutputs(refusal=f"cortexdb: {lock} is not up to date with the migrations: run "
                            f"`make migrations` and commit {lock}\n" + "".join(s.diff for s in stale_lock))
    modules = (result.manifest.index_output, result.manifest.output)  # written index first (write_order)
    try:
        write_outputs(result, only=modules)
    except GeneratorError as exc:
        return WheelOutputs(refusal=f"cortexdb: cannot write the frozen modules:\n{exc}")
    warnings = [str(d) for d in result.diagnostics if d.severity is Severity.WARNING]
    return WheelOutputs([result.manifest.root / rel for rel in modules], warnings)
