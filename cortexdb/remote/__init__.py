"""Databases on a libSQL server (sqld), over cortexdb's own stdlib Hrana client; imported only for a URL."""
