"""The `cortexdb` logger, without importing `logging` where no record could be seen.

`import logging` costs about 6 ms, a tenth of a start that creates the databases. Debug and
info records can only be seen through a handler, and a handler needs `logging` imported: when
nothing imported it, they are dropped here, as `logging` would drop them. Warnings import it
(its last-resort handler prints them on stderr even when nothing was configured).
"""

from __future__ import annotations

import sys


class _Logger:
    """`debug`, `info` and `warning` of `logging.getLogger("cortexdb")`, looked up per record."""

    def debug(self, message: str, *args: object) -> None:
        self._emit("debug", message, args, seen_unconfigured=False)

    def info(self, message: str, *args: object) -> None:
        self._emit("info", message, args, seen_unconfigured=False)

    def warning(self, message: str, *args: object) -> None:
        self._emit("warning", message, args, seen_unconfigured=True)

    @staticmethod
    def _emit(level: str, message: str, args: tuple[object, ...], *, seen_unconfigured: bool) -> None:
        if "logging" not in sys.modules and not seen_unconfigured:
            return
        import logging

        getattr(logging.getLogger("cortexdb"), level)(message, *args)


log = _Logger()
