"""Has a source checkout's `migrations/` or `manifest.toml` changed since the last build?

Asked by `cortex db migrate` only, never by `cortexdb.migrate()`: the application's start stays
one header read per database. An installed package has no `manifest.toml` beside it, so there
the question costs one failed `stat`; in a checkout, one `stat` per migration file.
"""

from __future__ import annotations

import os

from ._contract import source_hash

#: How much of `_frozen.py` holds its `# Source hash:` line (line 4).
_HEADER_BYTES = 4096


def sources_changed(package_dir: str) -> bool:
    """True when the checkout around `package_dir` has sources unlike those its `_frozen.py` was built from."""
    root = os.path.dirname(package_dir)
    manifest = os.path.join(root, "manifest.toml")
    folder = os.path.join(root, "migrations")
    frozen = os.path.join(package_dir, "_frozen.py")
    try:
        built = os.stat(frozen).st_mtime_ns
        newest = max(os.stat(manifest).st_mtime_ns, os.stat(folder).st_mtime_ns)
        names = [name for name in os.listdir(folder) if name.endswith(".sql")]
        for name in names:
            newest = max(newest, os.stat(os.path.join(folder, name)).st_mtime_ns)
    except OSError:
        return False  # an installed package (nothing beside it), or nothing built to compare with
    if newest <= built:
        return False
    # Newer is not different: a checkout or an editor renews a file's time, and the build leaves
    # an unchanged `_frozen.py` alone. The source hash decides.
    try:
        with open(frozen, "rb") as file:
            head = file.read(_HEADER_BYTES).decode("utf-8", "replace")
        with open(manifest, "rb") as file:
            manifest_bytes = file.read()
        migrations = []
        for name in names:
            with open(os.path.join(folder, name), "rb") as file:
                migrations.append((name, file.read()))
    except OSError:
        return False
    recorded = next((line.split(":", 1)[1].strip() for line in head.splitlines()
                     if line.startswith("# Source hash:")), None)
    return recorded is not None and recorded != source_hash(manifest_bytes, migrations)
