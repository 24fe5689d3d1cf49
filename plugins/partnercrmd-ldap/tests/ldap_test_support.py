"""What the LDAP add-in's tests share: a seeded slapd, a book's settings for it, and the connector opened on them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from partnercrmd_ldap import LDAP
from partnercrmd_ldap.connector import LdapBook
from slapd_server import SEED, SERVICE_DN, SERVICE_PASSWORD, SUFFIX, Slapd

from partnercrmd.sdk import BookContext


def settings(slapd: Slapd, **overrides: Any) -> dict[str, Any]:
    """An OpenLDAP book on `slapd`, bound as partnercrmd's service account."""
    return {
        "url": slapd.url,
        "bind_dn": SERVICE_DN,
        "password": SERVICE_PASSWORD,
        "base_dn": SUFFIX,
        "preset": "openldap",
        **overrides,
    }


@contextmanager
def open_connector(slapd: Slapd, data_dir: Path, **overrides: Any) -> Iterator[LdapBook]:
    """The connector as the daemon (or `partnercrmd books test`) opens it, with its data directory `data_dir`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    connector = LDAP.open(BookContext("directory", "Directory", settings(slapd, **overrides), data_dir, "GB"))
    assert isinstance(connector, LdapBook)
    try:
        yield connector
    finally:
        connector.close()


@contextmanager
def running_slapd(directory: Path, ldif: str = SEED, **options: Any) -> Iterator[Slapd]:
    """slapd in `directory` (`options` as `Slapd` takes them) holding `ldif`, stopped by its PID at the end."""
    server = Slapd(directory, **options)
    server.start()
    try:
        server.ldapadd(ldif)
        yield server
    finally:
        server.stop()


class Sent:
    """What a connector's client sends to its server: (kind, base, filter, scope) of every search."""

    def __init__(self, connector: LdapBook) -> None:
        self.calls: list[tuple[str, str, str, str]] = []
        client = connector.client
        search, search_pages = client.search, client.search_pages

        def spy_search(base: str, search_filter: str, *args: Any, **kwargs: Any) -> Any:
            self.calls.append(("search", base, search_filter, kwargs.get("scope", "SUBTREE")))
            return search(base, search_filter, *args, **kwargs)

        def spy_pages(base: str, search_filter: str, *args: Any, **kwargs: Any) -> Any:
            self.calls.append(("pages", base, search_filter, "SUBTREE"))
            return search_pages(base, search_filter, *args, **kwargs)

        client.search = spy_search  # type: ignore[method-assign]
        client.search_pages = spy_pages  # type: ignore[method-assign]

    def scopes(self) -> list[tuple[str, str]]:
        """(base, scope) of every search, in order."""
        return [(base, scope) for _, base, _, scope in self.calls]

    def clear(self) -> None:
        self.calls.clear()
