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
