"""Databases in files under the data dir, through stdlib `sqlite3`."""
