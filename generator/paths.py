"""The manifest's path rules: when a path leaves its folder, and which `file` a
`[databases.NAME]` may name (a path the runtime opens inside the data dir, and that it can
tell apart from every other database's file).

The runtime refuses a frozen module whose file has an empty folder name (`a//b.db`) or a
session database whose file name does not hold `{session_id}` exactly once; and it finds a
session's databases by listing one folder for `prefix<id>suffix`, so a session pattern that
also matches another database's file (`{session_id}.db` beside `main.db`: the session "main")
would migrate that file as a session. The build refuses each of these at the manifest line.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePosixPath, PureWindowsPath

from cortexdb._contract import SESSION_PLACEHOLDER


def lexically_leaves(relative: str) -> bool:
    """True when `relative`, read as a path alone, leaves the folder it is relative to.

    Judged for every platform: the frozen module is pure Python, so a database path that a
    Linux build accepts must also stay inside the data dir on Windows (`C:x.db`, `C:/x.db`).
    """
    pure = PurePosixPath(relative)
    if pure.is_absolute() or Path(relative).is_absolute() or ".." in pure.parts or "\\" in relative:
        return True
    return bool(PureWindowsPath(relative).drive) or "\0" in relative


def file_problem(file: str) -> tuple[str, str] | None:
    """(code, why) when `file` cannot be a database's file on its own, else None."""
    check = file.replace(SESSION_PLACEHOLDER, "x")
    if not file.isprintable():  # a newline, an escape code, a right-to-left override
        return "MF003", "holds a control or other unprintable character"
    if "{" in check or "}" in check:
        return "MF003", f"the only placeholder is {SESSION_PLACEHOLDER}"
    if lexically_leaves(check) or not check.endswith(".db"):
        return "MF008", "must be a .db path inside the data dir"
    if "" in file.split("/"):  # the runtime refuses it as leaving the data dir
        return "MF008", "has an empty folder name ('//'): write each folder once"
    if file.count(SESSION_PLACEHOLDER) > 1:
        return "MF003", f"holds {SESSION_PLACEHOLDER} more than once: a session's file name holds its id once"
    if SESSION_PLACEHOLDER in file.rsplit("/", 1)[0] and "/" in file:
        return "MF008", (f"has {SESSION_PLACEHOLDER} in a folder name: the sessions of a database are files "
                         "in one folder, so only the file name may hold it")
    return None


def _key(path: str) -> tuple[str, ...]:
    """A path as the file system may compare it: `./` dropped, case folded (case-insensitive
    file systems make `X.db` and `x.db` one file)."""
    return tuple(part.casefold() for part in PurePosixPath(path).parts)


def _pattern(file: str) -> tuple[tuple[str, ...], str, str]:
    """A session file's (folder, prefix, suffix), compared as `_key` compares."""
    *folder, name = _key(file)
    prefix, _, suffix = name.partition(SESSION_PLACEHOLDER)
    return tuple(folder), prefix, suffix


def _session_id_of(pattern: tuple[tuple[str, ...], str, str], file: str) -> str | None:
    """The session id under which `pattern` would open `file` (a plain file path), or None."""
    folder, prefix, suffix = pattern
    *other_folder, name = _key(file)
    if tuple(other_folder) != folder or len(name) <= len(prefix) + len(suffix):
        return None
    if not (name.startswith(prefix) and name.endswith(suffix)):
        return None
    session_id = name[len(prefix): len(name) - len(suffix)]
    return None if ".." in session_id else session_id  # the runtime skips what it could not open


def clashes(files: Mapping[str, str]) -> dict[str, str]:
    """The databases (by name, of `files`: name -> file) whose file the runtime could mistake
    for another's, each with why; the files must each pass `file_problem`, and exact duplicates
    are reported apart."""
    found: dict[str, str] = {}
    keys = {name: _key(file) for name, file in files.items()}
    for name, file in sorted(files.items()):
        for other, other_file in sorted(files.items()):
            if other == name or keys[other] == keys[name]:
                continue
            if keys[name][: len(keys[other])] == keys[other]:
                found[name] = f"is inside {other_file!r}, the file of database {other!r}"
                break
            if SESSION_PLACEHOLDER not in file:
                continue
            pattern = _pattern(file)
            folder = _folder_it_names(pattern, keys[other][:-1])
            if folder is not None:
                found[name] = (f"can name {folder[0]!r}, a folder of {other_file!r} (database {other!r}), as "
                               f"the file of session {folder[1]!r}: give the session files a prefix or a "
                               "folder of their own")
                break
            if SESSION_PLACEHOLDER not in other_file:
                session_id = _session_id_of(pattern, other_file)
                if session_id is not None:
                    found[name] = (f"also matches {other_file!r}, the file of database {other!r} (as the "
                                   f"session {session_id!r}): give the session files a prefix or a folder "
                                   "of their own")
                    break
            elif _patterns_overlap(pattern, _pattern(other_file)):
                found[name] = (f"and {other_file!r} (database {other!r}) can name the same file: give each "
                               "session database a prefix or a folder of its own")
                break
    return found


def _folder_it_names(pattern: tuple[tuple[str, ...], str, str], folders: tuple[str, ...]) -> tuple[str, str] | None:
    """(a folder of `folders`, the session id) where `pattern` would name that folder as a
    session's file: the runtime could not create one of them."""
    for depth in range(1, len(folders) + 1):
        folder = "/".join(folders[:depth])
        session_id = _session_id_of(pattern, folder)
        if session_id is not None:
            return folder, session_id
    return None


def _patterns_overlap(a: tuple[tuple[str, ...], str, str], b: tuple[tuple[str, ...], str, str]) -> bool:
    """Whether one file name matches both session patterns (ids of any length: they can)."""
    (folder_a, prefix_a, suffix_a), (folder_b, prefix_b, suffix_b) = a, b
    return (folder_a == folder_b
            and (prefix_a.startswith(prefix_b) or prefix_b.startswith(prefix_a))
            and (suffix_a.endswith(suffix_b) or suffix_b.endswith(suffix_a)))
