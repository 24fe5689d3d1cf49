"""A real Samba Active Directory domain controller for the tests, on 127.0.0.1's LDAP ports 389 and 636.

`samba-tool domain provision` takes about 20 s, and the DC's first start another 10-20 s to make its own
TLS certificate (private/tls/ca.pem, cert.pem, key.pem): so a provisioned, seeded and once-started domain
is kept under ~/.cache/partnercrmd-tests/samba-ad-<samba version>/ and copied for each test session.
The seed is added with Samba's own `ldbadd` straight into the stopped DC's sam.ldb; the people then get
a `whenChanged` of 2025, as most entries of a real directory were changed long before partnercrmd reads them.

Samba's LDAP server cannot be moved off ports 389 / 636 (there is no such smb.conf option in 4.17), so
only one DC of these tests can run on a machine at a time; `start` says so when the ports are taken.
The DC runs in the foreground (`samba -i -M single`) with only its LDAP service, is stopped by its PID,
and changes made behind the add-in's back go through Samba's own tools (`ldbmodify`, `samba-tool`).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

REALM = "EXAMPLE.TEST"
DOMAIN = "EXAMPLE"
BASE_DN = "DC=example,DC=test"
USERS = f"CN=Users,{BASE_DN}"
ADMIN_PASSWORD = "Admin-Secret-4711"
ADMIN_UPN = "Administrator@example.test"
SERVICE_PASSWORD = "Service-Secret-0815"
SERVICE_UPN = "partnercrmd@example.test"
"""An ordinary domain user the add-in binds as (userPrincipalName form)."""
SERVICE_DN = f"CN=partnercrmd,{USERS}"
LDAP_PORT = 389
LDAPS_PORT = 636
BULK_PEOPLE = 1100
"""More people than one page of the add-in's paged search (500) and than the DC's MaxPageSize (1000)."""
LONG_AGO = "20250101000000.0Z"
START_TIMEOUT = 60.0
CACHE_ROOT = Path.home() / ".cache" / "partnercrmd-tests"
SEED_VERSION = 2
"""Part of the cache key: raise it when the seed or the provisioning changes."""
PATH_MARK = "@DC_DIR@"
"""Stands for the domain's directory in the cached smb.conf (its paths are absolute)."""


def samba_version() -> str:
    """'4.17.12-Debian': the cache key (a provision of one version is not reused by another)."""
    output = subprocess.run(["samba", "-V"], capture_output=True, text=True, check=True).stdout
    return output.split()[-1].strip()


def user(cn: str, sam: str, **attributes: str | list[str]) -> str:
    """One AD user as LDIF (non-ASCII values base64-encoded)."""
    import base64

    lines = [f"dn: CN={cn},{USERS}", "objectClass: user", f"sAMAccountName: {sam}"]
    for name, value in {"displayName": cn, **attributes}.items():
        for item in value if isinstance(value, list) else [value]:
            if item.isascii():
                lines.append(f"{name}: {item}")
            else:
                lines.append(f"{name}:: {base64.b64encode(item.encode()).decode()}")
    return "\n".join(lines) + "\n"


PEOPLE = [
    user(
        "Dana Whitfield",
        "dana",
        givenName="Dana",
        sn="Whitfield",
        company="Northwind Traders",
        title="Head of Sales",
        mail="dana.whitfield@northwind.example",
        telephoneNumber="+44 (0)20 7946-0958",
        mobile="07700 900123",
    ),
    user(
        "Eamon O'Neill",
        "eamon",
        givenName="Eamon",
        sn="O'Neill",
        company="Northwind Traders",
        mail="eamon.oneill@northwind.example",
        telephoneNumber="+44 20 7946 0456",
        homePhone="0161.496.0789",
        ipPhone="020-7946-0460",
    ),
    user(
        "Frank Ocampo",
        "frank",
        givenName="Frank",
        sn="Ocampo",
        company="Fabrikam (US)",
        otherTelephone=["(212) 736-5000", "+1 212.736.5099"],
    ),
    user("Zoë Lefèvre", "zoe", givenName="Zoë", sn="Lefèvre", company="Société Contoso", mobile="+33 1 42 68 53 00"),
]
"""The people the behaviour tests look for, each number in another attribute and format."""


def bulk_person(n: int) -> str:
    return user(f"Bulk Person {n:04}", f"bulk{n:04}", sn=f"Person{n:04}", telephoneNumber=f"+44 113 496 {n:04}")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class SambaDC:
    """One domain controller in `directory` (a copy of the cached domain)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def smb_conf(self) -> Path:
        return self.directory / "etc" / "smb.conf"

    @property
    def sam_ldb(self) -> Path:
        return self.directory / "private" / "sam.ldb"

    @property
    def ca_file(self) -> Path:
        """The DC's own CA (Samba made it at its first start)."""
        return self.directory / "private" / "tls" / "ca.pem"

    @property
    def certificate_name(self) -> str:
        """The name in the DC's own certificate ('VM.example.test': its NetBIOS name and the realm)."""
        text = subprocess.run(
            [
                "openssl",
                "x509",
                "-noout",
                "-subject",
                "-nameopt",
                "multiline",
                "-in",
                str(self.directory / "private" / "tls" / "cert.pem"),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        match = re.search(r"commonName\s*=\s*(\S+)", text)
        assert match, text
        return match[1]

    ldaps_url = f"ldaps://127.0.0.1:{LDAPS_PORT}"
    ldap_url = f"ldap://127.0.0.1:{LDAP_PORT}"

    def start(self) -> None:
        for port in (LDAP_PORT, LDAPS_PORT):
            if not _free(port):
                raise RuntimeError(
                    f"Port {port} on 127.0.0.1 is taken: Samba's LDAP server listens on 389 and 636 only; "
                    "stop whatever holds it (another test session's DC?)."
                )
        log = (self.directory / "samba.out").open("ab")
        self.process = subprocess.Popen(
            ["samba", "-i", "-M", "single", "-s", str(self.smb_conf)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"samba ended at start: {(self.directory / 'samba.out').read_text()[-2000:]}")
            if self._answers_tls():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"samba did not answer on {LDAPS_PORT} within {START_TIMEOUT} s")

    def _answers_tls(self) -> bool:
        context = ssl.create_default_context(cafile=str(self.ca_file)) if self.ca_file.exists() else None
        if context is None:
            return False
        context.check_hostname = False
        try:
            with socket.create_connection(("127.0.0.1", LDAPS_PORT), timeout=1) as raw, context.wrap_socket(raw):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def ldb(self, tool: str, ldif: str, *options: str) -> None:
        """Samba's own `ldbadd` / `ldbmodify` on the DC's database (works while the DC runs)."""
        subprocess.run([tool, "-H", str(self.sam_ldb), *options], input=ldif.encode(), check=True, capture_output=True)

    def ldb_raw(self, ldb_file: Path, ldif: str) -> None:
        """`ldbmodify` of one partition file without Samba's modules (only while the DC is stopped)."""
        subprocess.run(["ldbmodify", "-H", f"tdb://{ldb_file}"], input=ldif.encode(), check=True, capture_output=True)

    def values(self, base: str, search_filter: str, attribute: str) -> list[str]:
        """The values of `attribute` of the entries `ldbsearch` finds (base64 and folded lines decoded)."""
        import base64

        unfolded = re.sub(r"\n ", "", self.search(base, search_filter, attribute))
        found = []
        for line in unfolded.splitlines():
            name, _, value = line.partition(":")
            if name.lower() != attribute.lower():
                continue
            found.append(base64.b64decode(value[2:]).decode() if value.startswith(": ") else value.strip())
        return found

    def search(self, base: str, search_filter: str, *attributes: str) -> str:
        """What Samba's own `ldbsearch` reads (LDIF text), never the add-in."""
        return subprocess.run(
            ["ldbsearch", "-H", str(self.sam_ldb), "-b", base, search_filter, *attributes],
            capture_output=True,
            text=True,
            check=True,
        ).stdout


def _provision(target: Path) -> None:
    """Provision, configure, seed and start once (the TLS certificate) a domain in `target`."""
    dc = target / "dc"
    subprocess.run(
        [
            "samba-tool",
            "domain",
            "provision",
            f"--realm={REALM}",
            f"--domain={DOMAIN}",
            "--server-role=dc",
            "--dns-backend=NONE",
            f"--adminpass={ADMIN_PASSWORD}",
            f"--targetdir={dc}",
            "--use-rfc2307",
            "--option=interfaces=lo",
            "--option=bind interfaces only=yes",
        ],
        check=True,
        capture_output=True,
    )
    conf = dc / "etc" / "smb.conf"
    text = conf.read_text()
    text = re.sub(r"(?m)^\s*server services = .*$", "\tserver services = ldap", text)
    text = re.sub(r"(?m)^\s*log file = .*$", f"\tlog file = {dc}/log.%m", text)
    text = text.replace(
        "[global]\n",
        f"[global]\n\tpid directory = {dc}/run\n\tncalrpc dir = {dc}/run/ncalrpc\n"
        f"\twinbindd socket directory = {dc}/run/winbindd\n",
        1,
    )
    conf.write_text(text)
    (dc / "run").mkdir(exist_ok=True)
    server = SambaDC(dc)
    server.ldb(
        "ldbadd",
        user("partnercrmd", "partnercrmd", userPrincipalName=SERVICE_UPN),
    )
    subprocess.run(
        [
            "samba-tool",
            "user",
            "setpassword",
            "partnercrmd",
            f"--newpassword={SERVICE_PASSWORD}",
            "-H",
            str(server.sam_ldb),
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["samba-tool", "user", "enable", "partnercrmd", "-H", str(server.sam_ldb)], check=True, capture_output=True
    )
    people = [*PEOPLE, *(bulk_person(n) for n in range(BULK_PEOPLE))]
    server.ldb("ldbadd", "\n".join(people))
    # Backdate the people's whenChanged, as most entries of a real directory were changed long ago: Samba's
    # modules always stamp the current time (and load with RTLD_DEEPBIND, out of faketime's reach), so the
    # value is written into the domain partition's file itself, opened as a plain ldb without those modules.
    backdate = "\n".join(
        f"{ldif.splitlines()[0]}\nchangetype: modify\nreplace: whenChanged\nwhenChanged: {LONG_AGO}\n"
        for ldif in people
    )
    partition = server.sam_ldb.parent / "sam.ldb.d" / f"{BASE_DN.upper()}.ldb"
    server.ldb_raw(partition, backdate)
    server.start()  # Samba makes its TLS certificate at the first start
    server.stop()
    text = conf.read_text().replace(str(dc), PATH_MARK)
    conf.write_text(text)


def prepared_domain() -> Path:
    """The cached, provisioned and seeded domain (made on first use, about a minute)."""
    cached = CACHE_ROOT / f"samba-ad-{samba_version()}-seed{SEED_VERSION}"
    if (cached / "dc" / "private" / "tls" / "ca.pem").exists():
        return cached / "dc"
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    building = CACHE_ROOT / f"samba-ad-{samba_version()}-seed{SEED_VERSION}.building-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir()
    _provision(building)
    shutil.rmtree(cached, ignore_errors=True)
    building.rename(cached)
    return cached / "dc"


def copy_domain(target: Path) -> SambaDC:
    """A DC of the cached domain in `target` (not started)."""
    # Sockets the DC left (ldapi, ncalrpc) cannot be copied and are made again at start.
    shutil.copytree(prepared_domain(), target, symlinks=True, ignore=shutil.ignore_patterns("ldapi", "run"))
    (target / "run").mkdir()
    conf = target / "etc" / "smb.conf"
    conf.write_text(conf.read_text().replace(PATH_MARK, str(target)))
    return SambaDC(target)
