"""What reaches the Hrana client from the network, bounded, and where it may go.

An answer is read within one deadline (a socket timeout alone bounds each `recv`, not the
answer) and up to `MAX_ANSWER_BYTES`; a server URL has one reading (`server_key`, by the
standard library's rules), from which the origin a request and its token may go to follows.
"""

from __future__ import annotations

import http.client
import io
import json
import time
from typing import Any

#: No answer the runtime asks for comes near this (a schema is tens of KB); a larger one is refused.
MAX_ANSWER_BYTES = 32 * 1024 * 1024


_DEFAULT_PORTS = {"http": 80, "https": 443}


def server_key(url: str) -> tuple[str, str, int, str]:
    """(scheme as sent, host, port, path): one value for every spelling of one server database,
    read by the standard library's rules (`urllib.parse.urlsplit`).

    `libsql://` is sent as `https://`; the host's case, brackets around an IPv6 literal and the
    literal's own spelling (`[0:0::1]` is `[::1]`), a trailing dot, a default port written out
    and trailing slashes do not make another server. A port that is not a number, or out of
    range, is -1 (equal to no real server: `_check` refuses it first).
    """
    import contextlib
    import ipaddress
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    scheme = "https" if scheme == "libsql" else scheme
    host = (parts.hostname or "").rstrip(".")
    with contextlib.suppress(ValueError):  # else a name, not an address literal
        host = str(ipaddress.ip_address(host))
    try:
        port = parts.port
    except ValueError:
        port = -1
    return scheme, host, port if port is not None else _DEFAULT_PORTS.get(scheme, -1), parts.path.rstrip("/")


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) as the standard library reads the URL (`server_key`: the one reading
    of a server URL): where a request and its token may go."""
    return server_key(url)[:3]


def origin_text(url: str) -> str:
    scheme, host, port = origin(url)
    return f"{scheme}://{'[' + host + ']' if ':' in host else host}:{port}"


class TooLarge(Exception):
    pass


class _DeadlineReader(io.RawIOBase):
    """The socket's bytes for one answer, each read given only what is left of the deadline
    (a socket timeout alone bounds each `recv`, not the answer), at most MAX_ANSWER_BYTES."""

    def __init__(self, sock: Any, deadline: float) -> None:
        self._sock = sock
        # The socket's own raw file: it keeps the descriptor open after the connection lets go
        # of the socket (an answer with `Connection: close`), as http.client expects.
        self._raw = sock.makefile("rb", buffering=0)
        self._deadline = deadline
        self._read = 0

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._raw.close()
        super().close()

    def readinto(self, buffer: Any) -> int:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        self._sock.settimeout(left)
        count = int(self._raw.readinto(buffer) or 0)
        self._read += count
        if self._read > MAX_ANSWER_BYTES + 65536:  # the headers' share, generously
            raise TooLarge()
        return count


class _DeadlineSocket:
    """What `http.client.HTTPResponse` needs of a socket: `makefile("rb")`, bounded."""

    def __init__(self, sock: Any, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode: str, *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))


def bounded_response(deadline: float) -> Any:
    def make(sock: Any, *args: Any, **kwargs: Any) -> http.client.HTTPResponse:
        return http.client.HTTPResponse(_DeadlineSocket(sock, deadline), *args, **kwargs)  # type: ignore[arg-type]

    return make


def read_bounded(response: http.client.HTTPResponse, deadline: float) -> bytes:
    length = response.getheader("Content-Length")
    if length is not None and length.isdigit() and int(length) > MAX_ANSWER_BYTES:
        raise TooLarge()
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = response.read(65536)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > MAX_ANSWER_BYTES:
            raise TooLarge()
        chunks.append(chunk)
        if time.monotonic() > deadline:
            raise TimeoutError("deadline passed")


def error_body(payload: str) -> tuple[str, str | None]:
    """sqld's HTTP error bodies are `{"message", "code"}` JSON or, for some, plain text."""
    text = payload.strip()
    try:
        decoded = json.loads(text)
    except ValueError:
        return text[:500] or "(no body)", None
    if isinstance(decoded, dict) and "message" in decoded:
        code = decoded.get("code")
        return str(decoded["message"]), str(code) if code else None
    return text[:500], None
