"""A real OpenLDAP slapd for the tests: a temp directory, a free port on 127.0.0.1, seeded with ldapadd.

slapd runs as a plain foreground process (`-d 0`) with a generated slapd.conf
loading back_mdb and the core, cosine and inetorgperson schemas (plus Active
Directory's ipPhone and otherIpPhone, plain text as in AD, on the auxiliary
class adPhones, for internal extensions); it is stopped by its PID. Reading
back what the add-in wrote uses ldapsearch, a client of its own, never the
add-in.
"""

from __future__ import annotations

import base64
import re
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

SUFFIX = "dc=example,dc=com"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "root-Secret-4711"
SERVICE_DN = f"cn=partnercrmd,ou=services,{SUFFIX}"
SERVICE_PASSWORD = "service-Secret-0815"
READER_DN = f"cn=reader,ou=services,{SUFFIX}"
READER_PASSWORD = "reader-Secret-2323"
PEOPLE = f"ou=people,{SUFFIX}"
CONTACTS = f"ou=contacts,{SUFFIX}"
START_TIMEOUT = 10.0

TINY_JPEG = base64.b64decode("/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAP8=")
"""The start of a JPEG (SOI, JFIF header): enough for slapd and for partnercrmd's image checks."""

SLAPD_CONF = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
attributetype ( 1.2.840.113556.1.4.721 NAME 'ipPhone'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
attributetype ( 1.2.840.113556.1.4.722 NAME 'otherIpPhone'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
objectclass ( 1.3.6.1.4.1.4203.666.11.4711.1 NAME 'adPhones' AUXILIARY MAY ( ipPhone $ otherIpPhone ) )
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 104857600
dbnosync
suffix "{suffix}"
rootdn "{root_dn}"
rootpw {root_password}
directory {dir}/db
access to attrs=userPassword
  by anonymous auth
  by self write
  by * none
access to dn.subtree="{suffix}"
  by dn.exact="{service_dn}" write
  by users read
  by * none
"""


def entry(dn: str, **attributes: str | list[str] | bytes) -> str:
    """One LDIF record (binary and non-ASCII values base64-encoded)."""
    lines = [f"dn: {dn}" if dn.isascii() else f"dn:: {base64.b64encode(dn.encode()).decode()}"]
    for name, value in attributes.items():
        for item in value if isinstance(value, list) else [value]:
            raw = item if isinstance(item, bytes) else item.encode()
            if isinstance(item, bytes) or not raw.isascii() or "\n" in item:
                lines.append(f"{name}:: {base64.b64encode(raw).decode()}")
            else:
                lines.append(f"{name}: {item}")
    return "\n".join(lines) + "\n"


SERVICE_CLASSES = ["organizationalRole", "simpleSecurityObject"]
"""Accounts that only log in: not people, so never a contact."""


def person(cn: str, **attributes: str | list[str] | bytes) -> str:
    return entry(f"cn={cn},{PEOPLE}", objectClass="inetOrgPerson", cn=cn, **attributes)


SEED = "\n".join(
    [
        entry(SUFFIX, objectClass=["dcObject", "organization"], dc="example", o="Example"),
        entry(PEOPLE, objectClass="organizationalUnit", ou="people"),
        entry(CONTACTS, objectClass="organizationalUnit", ou="contacts"),
        entry(f"ou=services,{SUFFIX}", objectClass="organizationalUnit", ou="services"),
        entry(SERVICE_DN, objectClass=SERVICE_CLASSES, cn="partnercrmd", userPassword=SERVICE_PASSWORD),
        entry(READER_DN, objectClass=SERVICE_CLASSES, cn="reader", userPassword=READER_PASSWORD),
        person(
            "Dana Whitfield",
            givenName="Dana",
            sn="Whitfield",
            o="Northwind Traders",
            title="Head of Sales",
            mail="dana.whitfield@northwind.example",
            telephoneNumber="+44 (0)20 7946-0958",
            mobile="07700 900123",
            jpegPhoto=TINY_JPEG,
        ),
        person(
            "Eamon O'Neill",
            givenName="Eamon",
            sn="O'Neill",
            o="Northwind Traders",
            title="Engineer",
            mail="eamon.oneill@northwind.example",
            telephoneNumber="+44 20 7946 0456",
            homePhone="0161.496.0789",
        ),
        person(
            "Zoë Lefèvre",
            givenName="Zoë",
            sn="Lefèvre",
            o="Société Contoso",
            mail="zoe@contoso.example",
            telephoneNumber="+33 1 42 68 53 00",
            facsimileTelephoneNumber="+33 1 42 68 53 01",
        ),
        person("Frank Ocampo", givenName="Frank", sn="Ocampo", o="Fabrikam (US)", telephoneNumber="(212) 736-5000"),
        # A Munich number that holds the digits 9 4 6 0 9 5 8 in order: the LDAP filter finds it for
        # +44 20 7946 0958, and the add-in must drop it.
        person("Max Decoy", givenName="Max", sn="Decoy", o="Decoy GmbH", telephoneNumber="+49 89 4946 0958"),
    ]
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


PAGED_SEARCH_LIMIT = f'limits dn.exact="{SERVICE_DN}" size.prtotal=unlimited'
"""What the add-in's README asks of a slapd administrator: paged searches of partnercrmd's account are not cut
at the size limit (500 by default), so its number index can list every contact."""

SEARCH_LOG_LINE = re.compile(r'SRCH base="(?P<base>[^"]*)" scope=(?P<scope>\d) deref=\d+ filter="(?P<filter>[^"]*)"')
"""A search in slapd's stats log: scope 0 is base, 1 one level, 2 subtree."""


@dataclass(frozen=True)
class Search:
    """One search as slapd logged it (filters as slapd normalised them, e.g. lower-case attribute names)."""

    base: str
    scope: int
    filter: str


@dataclass
class Slapd:
    """One slapd process serving dc=example,dc=com from `directory`.

    `indexes`: `index ...` lines for the database (e.g. "index cn,sn eq,sub"); none by default, so searches
    scan every entry as in a directory nobody tuned. `limits`: `limits ...` lines (e.g.
    'limits users size.unchecked=50': a search whose filter no index narrows to 50 candidates is refused);
    by default `PAGED_SEARCH_LIMIT`, the one line the add-in's README asks for.
    `stats`: log every operation (slapd's "stats" level) to slapd.log, read back with `searches()`.
    """

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    indexes: Sequence[str] = ()
    limits: Sequence[str] = (PAGED_SEARCH_LIMIT,)
    stats: bool = False

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def _write_config(self) -> Path:
        (self.directory / "db").mkdir(parents=True, exist_ok=True)
        conf = self.directory / "slapd.conf"
        conf.write_text(
            SLAPD_CONF.format(
                dir=self.directory,
                suffix=SUFFIX,
                root_dn=ROOT_DN,
                root_password=ROOT_PASSWORD,
                service_dn=SERVICE_DN,
            )
            + "".join(f"{line}\n" for line in [*self.indexes, *self.limits]),
            encoding="utf-8",
        )
        return conf

    def slapadd(self, ldif: str, timeout: float = 300) -> None:
        """Load entries offline (slapd not running), keeping operational attributes the LDIF gives, such as an
        old modifyTimestamp: a directory whose entries were last changed long ago, as most are."""
        assert self.process is None, "slapadd needs slapd stopped"
        subprocess.run(
            ["slapadd", "-q", "-f", str(self._write_config())],
            input=ldif.encode(),
            check=True,
            capture_output=True,
            timeout=timeout,
        )

    def start(self) -> None:
        conf = self._write_config()
        log = (self.directory / "slapd.log").open("wb")
        with log:
            self.process = subprocess.Popen(
                [
                    "slapd",
                    "-f",
                    str(conf),
                    "-h",
                    f"ldap://127.0.0.1:{self.port}/",
                    "-d",
                    "stats" if self.stats else "0",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.directory / "slapd.log").read_text(errors="replace")
                raise RuntimeError(f"slapd exited with {self.process.returncode}:\n{log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"slapd did not listen on port {self.port} within {START_TIMEOUT} s")

    def stop(self) -> None:
        """Stop slapd by its PID (SIGTERM, then SIGKILL after 5 s)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None

    def _client_args(self, tool: str, *options: str) -> list[str]:
        """An OpenLDAP client tool's command line, bound as the directory's root DN."""
        return [tool, "-x", *options, "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PASSWORD]

    def ldapadd(self, ldif: str, timeout: float = 10, relax: bool = False) -> None:
        """Add entries as the directory administrator; with `relax` (the Relax Rules control) slapd keeps the
        operational attributes the LDIF gives, such as an old modifyTimestamp."""
        subprocess.run(
            self._client_args("ldapadd", *(["-e", "relax"] if relax else [])),
            input=ldif.encode(),
            check=True,
            capture_output=True,
            timeout=timeout,
        )

    def searches(self) -> list[Search]:
        """Every search slapd has logged so far, in order (needs `stats=True`)."""
        log = (self.directory / "slapd.log").read_text(errors="replace")
        return [Search(m["base"], int(m["scope"]), m["filter"]) for m in SEARCH_LOG_LINE.finditer(log)]

    def ldapmodify(self, ldif: str, timeout: float = 10) -> None:
        """Apply LDIF change records (changetype: modify / delete …) as the directory administrator."""
        subprocess.run(
            self._client_args("ldapmodify"),
            input=ldif.encode(),
            check=True,
            capture_output=True,
            timeout=timeout,
        )

    def ldapsearch(self, base: str, search_filter: str, *attributes: str) -> list[dict[str, list[str]]]:
        """Entries as ldapsearch (OpenLDAP's own client, as the directory administrator) prints them."""
        done = subprocess.run(
            [*self._client_args("ldapsearch", "-LLL", "-o", "ldif-wrap=no"), "-b", base, search_filter, *attributes],
            check=True,
            capture_output=True,
            timeout=10,
        )
        return parse_ldif(done.stdout.decode())


def parse_ldif(text: str) -> list[dict[str, list[str]]]:
    """Records of unwrapped LDIF: {"dn": [dn], attribute: [values]}, base64 values decoded."""
    records = []
    for block in text.strip().split("\n\n"):
        record: dict[str, list[str]] = {}
        for line in block.splitlines():
            name, _, value = line.partition(":")
            encoded = value.startswith(":")
            value = base64.b64decode(value[1:].strip()).decode() if encoded else value.strip()
            record.setdefault(name, []).append(value)
        if record:
            records.append(record)
    return records
