"""Hatchling build hook: run the generator so the wheel carries `cortexdb/_frozen.py` and its
index `cortexdb/_frozen_index.py`.

Both are generated and git-ignored; `build_data["artifacts"]` puts them into the wheel anyway.
An sdist keeps the sources (manifest, migrations, lock, generator), so a wheel built from it
regenerates the same bytes. Editable installs skip the hook: there `make migrations` writes
both into the source tree.

A wheel build never writes `migrations.lock` (it may run in a user's checkout, e.g. `pip
install .`): it refuses instead when the lock is not up to date, so no release carries a
migration whose lock line was never committed.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

OPTION = "option 'manifest' of the cortexdb build hook ([tool.hatch.build.targets.wheel.hooks.custom])"


class FrozenMigrationsHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        manifest = self.config.get("manifest", "manifest.toml")
        if not isinstance(manifest, str) or not manifest:
            raise ValueError(f"{OPTION} must be a non-empty string, not {manifest!r}")
        root = Path(self.root).resolve()
        path = root / manifest
        if not path.is_file():
            raise ValueError(f"{OPTION} = {manifest!r}: no such file in {root}")
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        # The generator, and with it sqlglot and jinja2, are imported only when a wheel is built.
        from generator.build import generate, stale_outputs, write_if_changed, write_order
        from generator.diagnostics import GeneratorError, Severity
        from generator.report import format_diagnostics

        try:
            result = generate(path)
        except GeneratorError as exc:
            raise RuntimeError(f"cortexdb: the manifest does not build:\n{exc}") from None
        if result.failed:
            raise RuntimeError("cortexdb: the migrations do not build:\n"
                               + format_diagnostics(result.diagnostics, "text")
                               + f"\n{result.summary()}")
        lock = result.manifest.lock
        stale_lock = stale_outputs(replace(result, files={lock: result.files[lock]}))
        if stale_lock:
            raise RuntimeError(f"cortexdb: {lock} is not up to date with the migrations: run "
                               f"`make migrations` and commit {lock}\n" + "".join(stale_lock))
        for diagnostic in result.diagnostics:
            if diagnostic.severity is Severity.WARNING:
                self.app.display_warning(str(diagnostic))
        # The index before the frozen module (see write_order); never the lock.
        for rel in write_order(result):
            if rel in (result.manifest.index_output, result.manifest.output):
                output = result.manifest.root / rel
                write_if_changed(output, result.files[rel])
                build_data["artifacts"].append(output.relative_to(root).as_posix())

