"""Two spellings of one server database are one database: refused when given to two databases.

URLs are read by the standard library's rules (urllib.parse, ipaddress): the scheme's and the
host's case, `libsql://` for `https://`, a default port written out or left out, IPv6
literals in any of their spellings, a trailing dot and trailing slashes do not make another
server. Anything else that differs (transport, host, port, path) is another server database.
"""

from __future__ import annotations

import ipaddress

import pytest
from fuzz_support import fuzz
from hypothesis import assume
from hypothesis import strategies as st
from runtime_support import real_frozen

from cortexdb import InvalidInputError
from cortexdb._catalog import load_catalog
from cortexdb._targets import database_urls

CATALOG = load_catalog(real_frozen())
HOSTS = st.one_of(
    st.from_regex(r"[a-z][a-z0-9-]{0,8}(\.[a-z][a-z0-9]{0,5}){0,2}", fullmatch=True),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(str),
)
SERVERS = st.tuples(st.sampled_from(["http", "https"]), HOSTS, st.integers(1, 65535) | st.none(),
                    st.sampled_from(["", "/db", "/a/b"]))
DEFAULT = {"http": 80, "https": 443}


@st.composite
def spellings(draw: st.DrawFn, server: tuple[str, str, int | None, str]) -> str:
    """One of the many ways to write `server` (port None: the scheme's default)."""
    scheme, host, port, path = server
    if scheme == "https" and draw(st.booleans()):
        scheme = "libsql"
    scheme = "".join(c.upper() if draw(st.booleans()) else c for c in scheme)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        written = "".join(c.upper() if draw(st.booleans()) else c for c in host) + draw(st.sampled_from(["", "."]))
    else:
        forms = [address.compressed, address.exploded, address.exploded.upper()]
        written = f"[{draw(st.sampled_from(forms))}]" if address.version == 6 else host
    port_text = draw(st.sampled_from(["", f":{DEFAULT[server[0]]}"])) if port is None else f":{port}"
    return f"{scheme}://{written}{port_text}{path}{draw(st.sampled_from(['', '/', '//']))}"


def _refused(first: str, second: str) -> bool:
    try:
        database_urls(CATALOG, {"cortex": first, "lens": second}, environ={})
    except InvalidInputError as error:
        assert "have the same URL" in str(error), error
        return True
    return False


@fuzz(300, server=SERVERS, data=st.data())
def test_two_spellings_of_one_server_database_are_refused_as_one(server: tuple[str, str, int | None, str],
                                                                  data: st.DataObject) -> None:
    first, second = data.draw(spellings(server)), data.draw(spellings(server))
    assert _refused(first, second), (first, second)


@fuzz(300, one=SERVERS, other=SERVERS, data=st.data())
def test_two_server_databases_are_two(one: tuple[str, str, int | None, str], other: tuple[str, str, int | None, str],
                                      data: st.DataObject) -> None:
    def key(server: tuple[str, str, int | None, str]) -> tuple[object, ...]:
        scheme, host, port, path = server
        return scheme, ipaddress.ip_address(host) if ":" in host or host[0].isdigit() else host, \
            DEFAULT[scheme] if port is None else port, path
    assume(key(one) != key(other))
    first, second = data.draw(spellings(one)), data.draw(spellings(other))
    assert not _refused(first, second), (first, second)


@pytest.mark.parametrize("url", ["http://h:99999", "http://h:port", "http://h:-1"])
def test_a_port_that_is_no_port_is_refused_by_name(url: str) -> None:
    with pytest.raises(InvalidInputError, match="the port must be a number from 0 to 65535"):
        database_urls(CATALOG, {"cortex": url}, environ={})
