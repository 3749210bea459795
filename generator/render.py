"""Rendering the frozen module and its index: pure data, deterministic, every value written with `repr`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cortexdb._contract import FORMAT

if TYPE_CHECKING:
    import jinja2

TEMPLATE = "frozen.py.j2"
INDEX_TEMPLATE = "frozen_index.py.j2"


def _environment() -> jinja2.Environment:
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
    return env


def render_frozen(*, manifest: str, migrations_dir: str, source_hash: str, ledger: str,
                  databases: Sequence[Mapping[str, Any]], migrations: Sequence[Mapping[str, Any]],
                  heal: Sequence[tuple[int, Any]] = ()) -> str:
    """The text of `_frozen.py`. `repr` is the only way values reach the file, so no SQL or
    description can break out of its literal; the template itself holds no user text."""
    text = _environment().get_template(TEMPLATE).render(
        format=FORMAT, manifest=manifest, migrations_dir=migrations_dir, source_hash=source_hash,
        ledger=ledger, databases=databases, migrations=migrations, heal=heal,
    )
    return text.replace("\r\n", "\n")


def render_index(*, manifest: str, migrations_dir: str, migrations: int, source_hash: str, ledger: str,
                 databases: Sequence[Mapping[str, Any]]) -> str:
    """The text of `_frozen_index.py`: per database (in the frozen module's order) its file,
    whether it is per session, and the fingerprint the runtime's up-to-date check compares."""
    text = _environment().get_template(INDEX_TEMPLATE).render(
        format=FORMAT, manifest=manifest, migrations_dir=migrations_dir, migrations=migrations,
        source_hash=source_hash, ledger=ledger, databases=databases,
    )
    return text.replace("\r\n", "\n")
