"""Backups before changing an existing database: taken whenever the file holds anything, and
never pruned away by the run that took them."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from runtime_support import ledger_rows, synthetic_frozen

import cortexdb

SQL = [(v, "main", f"CREATE TABLE IF NOT EXISTS t{v} (x);") for v in range(1, 4)]


def test_the_backup_just_taken_survives_a_clock_set_back(tmp_path: Path) -> None:
    """Five backups named by a clock that ran ahead (or this one was set back): the new one has
    the oldest name, and pruning must still keep it."""
    cortexdb.migrate(tmp_path, frozen=synthetic_frozen(SQL[:1]))
    future = [f"2099010{day}T000000Z" for day in range(1, 6)]
    for name in future:
        (tmp_path / "backups" / name).mkdir(parents=True)

    result = cortexdb.migrate(tmp_path, frozen=synthetic_frozen(SQL[:2]))

    assert result.backup_dir is not None
    taken = Path(result.backup_dir)
    assert taken.is_dir() and [row[0] for row in ledger_rows(taken / "main.db")] == [1]
    kept = sorted(p.name for p in (tmp_path / "backups").iterdir())
    assert kept == sorted([taken.name, *future[1:]])  # five in all; the oldest other one went


def test_older_backups_are_kept_within_two_gib(tmp_path: Path) -> None:
    """At fleet scale one run's backups can be huge: older runs go once all kept backups would
    pass 2 GiB; the new run's own backup stays whatever its size."""
    cortexdb.migrate(tmp_path, frozen=synthetic_frozen(SQL[:1]))
    older = [f"2020010{day}T000000Z" for day in range(1, 5)]
    for name in older:
        folder = tmp_path / "backups" / name
        folder.mkdir(parents=True)
        with (folder / "main.db").open("wb") as sparse:  # 900 MiB that take no disk
            sparse.truncate(900 * 1024**2)

    result = cortexdb.migrate(tmp_path, frozen=synthetic_frozen(SQL[:2]))

    assert result.backup_dir is not None
    kept = sorted(p.name for p in (tmp_path / "backups").iterdir())
    # Its own, then the two newest older ones (1.8 GiB); a third would pass 2 GiB.
    assert kept == sorted([Path(result.backup_dir).name, *older[-2:]])


def test_a_database_with_data_but_no_ledger_is_backed_up(tmp_path: Path) -> None:
    import sqlite3

    conn = sqlite3.connect(tmp_path / "main.db")
    conn.execute("CREATE TABLE a (x)")  # made by the application, before any migration ran
    conn.execute("INSERT INTO a VALUES ('precious')")
    conn.commit()
    conn.close()

    result = cortexdb.migrate(tmp_path, frozen=synthetic_frozen(SQL[:1]))

    assert result.backup_dir is not None and [r.backed_up for r in result.databases] == [True]
    saved = sqlite3.connect(Path(result.backup_dir) / "main.db")
    assert saved.execute("SELECT x FROM a").fetchall() == [("precious",)]
    assert saved.execute("SELECT count(*) FROM sqlite_master WHERE name = 'schema_migrations'").fetchone() == (0,)
    saved.close()


def test_an_empty_database_file_needs_no_backup(tmp_path: Path) -> None:
    import sqlite3

    conn = sqlite3.connect(tmp_path / "main.db")
    conn.execute("PRAGMA user_version = 7")  # page 1 written: an SQLite file with no objects
    conn.close()
    assert (tmp_path / "main.db").stat().st_size > 0
    result = cortexdb.migrate(tmp_path, frozen=synthetic_frozen(SQL[:1]))
    assert result.backup_dir is None and [r.versions for r in result.databases] == [(1,)]


STAMPS = st.builds(lambda year, second: f"{year}0101T{second:06d}Z", st.integers(1990, 2099), st.integers(0, 235959))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(STAMPS, unique=True, max_size=8))
def test_the_new_backup_is_kept_and_at_most_five_whatever_names_lie_there(tmp_path: Path, older: list[str]) -> None:
    """Whatever backups a clock (right, ahead or set back) named before: the run's own backup
    survives, at most five runs remain, and the others kept are the newest by name."""
    import shutil

    data = tmp_path / "data"
    shutil.rmtree(data, ignore_errors=True)
    cortexdb.migrate(data, frozen=synthetic_frozen(SQL[:1]))
    for name in older:
        (data / "backups" / name).mkdir(parents=True)

    result = cortexdb.migrate(data, frozen=synthetic_frozen(SQL[:2]))

    assert result.backup_dir is not None
    own = Path(result.backup_dir).name
    kept = sorted(p.name for p in (data / "backups").iterdir())
    assert own in kept and [row[0] for row in ledger_rows(data / "backups" / own / "main.db")] == [1]
    assert sorted(set(kept) - {own}) == sorted(older)[-4:]
