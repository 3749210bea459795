"""Hatchling build hook: run the generator so the wheel carries `cortexdb/_frozen.py`.

The frozen module is generated and git-ignored; `build_data["artifacts"]` puts it into the
wheel anyway. An sdist keeps the sources (manifest, migrations, generator), so a wheel built
from it regenerates the same bytes. Editable installs skip the hook: there `make migrations`
writes the module into the source tree.
"""

from __future__ import annotations

import sys
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class FrozenMigrationsHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        manifest = self.config.get("manifest", "manifest.toml")
        if not isinstance(manifest, str) or not manifest:
            raise ValueError(
                "option 'manifest' of the cortexdb build hook "
                "([tool.hatch.build.targets.wheel.hooks.custom]) must be a non-empty string"
            )
        if self.root not in sys.path:
            sys.path.insert(0, self.root)
        # The generator, and with it sqlglot and jinja2, are imported only when a wheel is built.
        from pathlib import Path

        from generator.build import generate, write_outputs
        from generator.diagnostics import GeneratorError
        from generator.report import format_diagnostics

        try:
            result = generate(Path(self.root) / manifest)
        except GeneratorError as exc:
            raise RuntimeError(f"cortexdb: the manifest does not build:\n{exc}") from None
        if result.failed:
            raise RuntimeError("cortexdb: the migrations do not build:\n"
                               + format_diagnostics(result.diagnostics, "text")
                               + f"\n{result.summary()}")
        write_outputs(result)
        build_data["artifacts"].extend(sorted(result.files))
