"""The canonical checksum, judged by SQLite: generated migrations of real statements (literals
holding CR, LF, quotes and comment-like text; triggers, views, declared types, defaults).

- Cosmetic changes (any comments and whitespace between tokens, CR/LF/CRLF there, a BOM) never
  change the `c2:` checksum, and SQLite agrees they change nothing.
- Differential: for a migration and an edit of it (one character inserted, deleted or changed
  anywhere, a line ending changed, a comment or gap changed, inside literals too), or two
  layouts of it, "same checksum" implies "applied to a fresh database, the same
  sqlite_master objects, the same columns of every table and view, the same rows (with their
  types), the same success or failure". SQLite is the judge: both texts are run and compared.

Budgets: 500 examples in `make test`, 20x (10,000) in `make soak`.
"""

from __future__ import annotations

import itertools
import re
import sqlite3

from fuzz_support import fuzz
from hypothesis import event
from hypothesis import strategies as st

from generator.checksum import canonical_checksum

PUNCTUATION = frozenset("(),;")
# Between two tokens: layout only. A `--` comment always ends at LF (at CR it would go on).
_LAYOUT = st.lists(st.sampled_from([" ", "\n", "\r\n", "\r", "\t", "\f", "  ", "/**/", "/* c\r\n-- x */",
                                    "-- c\n", "-- c;\r\n", "--\n", "/* 'not a string' */",
                                    " \ufeff"]),  # a BOM is whitespace where a token starts, in a word a letter
                   min_size=1, max_size=3).map("".join)

_CHARS = st.sampled_from(["a", " ", "\r", "\n", "\r\n", "''", "--", "/*", "*/", '"', "\t", "é", ";", "x'0'"])
_STRING = st.lists(_CHARS, max_size=6).map(lambda parts: "'" + "".join(parts) + "'")
_LITERAL = st.one_of(_STRING, st.sampled_from(["0", "12", "1.5", "0x1f", "X'00ff'", "NULL", "1e3"]))


@st.composite
def _column(draw: st.DrawFn, name: str, plain: bool) -> list[str]:
    types = [[], ["INTEGER"], ["TEXT"], ["REAL"], ["BLOB"]]
    if not plain:  # the declared type is its text, layout included: no cosmetic change inside it
        types += [["DOUBLE", "PRECISION"], ["VARCHAR", "(", "10", ")"], ["INT", "KEY"]]
    tokens = [name, *draw(st.sampled_from(types))]
    if draw(st.booleans()):
        tokens += ["DEFAULT", draw(_LITERAL)]
    if draw(st.booleans()):
        tokens += ["CHECK", "(", name, "IS", "NOT", "NULL", ")"]
    return tokens


def _expression(draw: st.DrawFn) -> list[str]:
    return draw(st.sampled_from([["a"], ["a", "+", "1"], ["-", "a"], ["b", "||", "'-'"], ["a", "-", "-", "1"],
                                 ["length", "(", "b", ")"], ["a", "/", "2"], ["coalesce", "(", "a", ",", "b", ")"]]))


@st.composite
def statement(draw: st.DrawFn, plain: bool) -> list[str]:
    kind = draw(st.sampled_from(["table", "insert", "insert", "default", "view", "trigger", "update", "delete"]))
    if kind == "table":
        name = draw(st.sampled_from(["w", "z"]))
        columns = [draw(_column(c, plain)) for c in ("c", "d")[: draw(st.integers(1, 2))]]
        body = [token for index, col in enumerate(columns) for token in ([","] if index else []) + col]
        return ["CREATE", "TABLE", "IF", "NOT", "EXISTS", name, "(", *body, ")", ";"]
    if kind == "insert":
        return ["INSERT", "INTO", "t", "VALUES", "(", draw(_LITERAL), ",", draw(_LITERAL), ")", ";"]
    if kind == "default":
        return ["INSERT", "INTO", draw(st.sampled_from(["w", "z"])), "DEFAULT", "VALUES", ";"]
    if kind == "view":
        name = draw(st.sampled_from(["v1", "v2"]))
        alias = ["AS", "x"] if plain or draw(st.booleans()) else []  # unaliased: named after its text
        return ["CREATE", "VIEW", "IF", "NOT", "EXISTS", name, "AS", "SELECT", *_expression(draw), *alias,
                ",", "b", "FROM", "t", ";"]
    if kind == "trigger":
        name = draw(st.sampled_from(["tr1", "tr2"]))
        return ["CREATE", "TRIGGER", "IF", "NOT", "EXISTS", name, "AFTER", "INSERT", "ON", "t", "BEGIN",
                "INSERT", "INTO", "u", "VALUES", "(", "new", ".", "a", ",", draw(_LITERAL), ")", ";", "END", ";"]
    if kind == "update":
        return ["UPDATE", "t", "SET", "b", "=", *_expression(draw), "WHERE", "a", ">=", draw(_LITERAL), ";"]
    return ["DELETE", "FROM", "t", "WHERE", "b", "=", draw(_LITERAL), ";"]


HEADER = ["CREATE", "TABLE", "IF", "NOT", "EXISTS", "t", "(", "a", ",", "b", ")", ";",
          "CREATE", "TABLE", "IF", "NOT", "EXISTS", "u", "(", "a", ",", "b", ")", ";"]


def migrations(plain: bool) -> st.SearchStrategy[list[str]]:
    return st.lists(statement(plain), min_size=1, max_size=6).map(
        lambda statements: HEADER + [token for s in statements for token in s])


@st.composite
def layouts(draw: st.DrawFn, tokens: list[str]) -> str:
    """The tokens with layout between them: none where a `( ) , ;` makes it optional, sometimes."""
    pieces = [draw(st.sampled_from(["", "\ufeff", "\n-- header\n", "/* h */"])), tokens[0]]
    for left, right in itertools.pairwise(tokens):
        optional = left in PUNCTUATION or right in PUNCTUATION
        layout = "" if optional and draw(st.booleans()) else draw(_LAYOUT)
        if left in ("-", "/") and layout[:1] in ("-", "*"):
            layout = " " + layout  # `-` + `--` would be one comment, `/` + `*...` one `/*`
        pieces.append(layout)
        pieces.append(right)
    pieces.append(draw(st.sampled_from(["", "\n", "\r\n", " -- end", "/* end"])))
    return "".join(pieces)


def judged(text: str) -> tuple[object, ...]:
    """What SQLite makes of `text` on a fresh database: each object of sqlite_master, each table's
    and view's columns (SQLite's own reading: name, declared type, NOT NULL, key, hidden) and rows
    (values with their types), and whether the script failed."""
    db = sqlite3.connect(":memory:")
    db.text_factory = lambda data: ("text", data)  # TEXT as its bytes: `X'ff' || '-'` is no UTF-8
    try:
        db.executescript(text.replace("\0", ""))
        failed = False
    except sqlite3.Error:
        failed = True
    objects = db.execute("SELECT type, name, tbl_name FROM sqlite_master ORDER BY type, name").fetchall()
    state: list[object] = [failed, objects]
    for kind, name, _ in objects:
        if kind in ("table", "view"):
            columns = db.execute("SELECT name, type, \"notnull\", pk, hidden FROM pragma_table_xinfo(?)",
                                 (name,)).fetchall()
            rows = sorted(repr(row) for row in db.execute(f'SELECT * FROM "{name}"'))
            state += [name, columns, rows]
    db.close()
    return tuple(state)


@fuzz(200, tokens=migrations(plain=True), data=st.data())
def test_cosmetic_changes_keep_the_checksum(tokens: list[str], data: st.DataObject) -> None:
    one, two = data.draw(layouts(tokens)), data.draw(layouts(tokens))
    assert canonical_checksum(one) == canonical_checksum(two), (one, two)
    assert judged(one) == judged(two)  # and SQLite agrees they are one migration


_EDITS = st.sampled_from(["", " ", "\r", "\n", "\r\n", "-", "/", "*", "'", '"', "x", "1", ",", ";", "(", ".",
                          "--", "/*", "*/", "''", "\t"])


@st.composite
def edited(draw: st.DrawFn, text: str) -> str:
    """`text` with one place changed: a line ending written another way (in a literal, after a
    `--` comment, in layout), or up to 3 characters replaced by one of _EDITS."""
    endings = [match.span() for match in re.finditer(r"\r\n|\r|\n", text)]
    change_an_ending: bool = draw(st.booleans())
    if endings and change_an_ending:
        start, end = draw(st.sampled_from(endings))
        return text[:start] + draw(st.sampled_from(["\n", "\r\n", "\r", "\n\r"])) + text[end:]
    at = draw(st.integers(0, len(text)))
    cut = draw(st.integers(0, min(3, len(text) - at)))
    return text[:at] + draw(_EDITS) + text[at + cut :]


@fuzz(300, tokens=migrations(plain=False), data=st.data())
def test_same_checksum_means_same_database(tokens: list[str], data: st.DataObject) -> None:
    base = data.draw(layouts(tokens))
    other = data.draw(st.one_of(edited(base), layouts(tokens)))
    same = canonical_checksum(base) == canonical_checksum(other)
    event(f"same checksum: {same}")
    if same:
        assert judged(base) == judged(other), (base, other)


test_cosmetic_changes_keep_the_checksum_soak = test_cosmetic_changes_keep_the_checksum.soak_twin
test_same_checksum_means_same_database_soak = test_same_checksum_means_same_database.soak_twin
