"""Hatchling build hook: run the generator so the wheel carries `cortexdb/_frozen.py` and its
index `cortexdb/_frozen_index.py`.

Both are generated and git-ignored; `build_data["artifacts"]` puts them into the wheel anyway.
An sdist keeps the sources (manifest, migrations, lock, generator), so a wheel built from it
regenerates the same bytes. Editable installs skip the hook: there `make migrations` writes
both into the source tree. What the generator does for a wheel (and what it refuses, such as
a lock that is not up to date) is `generator.wheel.wheel_outputs`.
"""

from __future__ import annotations

import sys
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
        from generator.wheel import wheel_outputs

        outputs = wheel_outputs(path)
        if outputs.refusal is not None:
            raise RuntimeError(outputs.refusal)
        for warning in outputs.warnings:
            self.app.display_warning(warning)
        build_data["artifacts"].extend(artifact.relative_to(root).as_posix() for artifact in outputs.artifacts)
