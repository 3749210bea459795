"""What `_cli` and `_cli_ops` print with: paths as shown, version lists, JSON, the `--check` status."""

from __future__ import annotations

import os

from ._targets import is_url

#: Exit status of `--check` when a migration is pending.
PENDING = 3


def shown(location: str, data_dir: str) -> str:
    """A file relative to the data dir; a server database by its URL."""
    return location if is_url(location) else os.path.relpath(location, data_dir)


def versions(numbers: tuple[int, ...]) -> str:
    return ", ".join(f"{version:03d}" for version in numbers)


def print_json(data: object) -> None:
    import json

    print(json.dumps(data, indent=2))
