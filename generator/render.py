"""Rendering the frozen module: pure data, deterministic, every value written with `repr`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

FORMAT = 1
TEMPLATE = "frozen.py.j2"


def render_frozen(*, manifest: str, migrations_dir: str, source_hash: str, ledger: str,
                  databases: Sequence[Mapping[str, Any]], migrations: Sequence[Mapping[str, Any]]) -> str:
    """The text of `_frozen.py`. `repr` is the only way values reach the file, so no SQL or
    description can break out of its literal; the template itself holds no user text."""
    import jinja2  # build-time only

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("generator", "templates"),
        autoescape=False,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["py"] = repr
    # Header comments hold paths; a control character there must not end the comment line.
    env.filters["comment"] = lambda text: "".join(c if c.isprintable() else "?" for c in str(text))
    text = env.get_template(TEMPLATE).render(
        format=FORMAT, manifest=manifest, migrations_dir=migrations_dir, source_hash=source_hash,
        ledger=ledger, databases=databases, migrations=migrations,
    )
    return text.replace("\r\n", "\n")
