"""A real Request Tracker 5 for the add-in's tests, and a raw REST2 client of it.

Debian's request-tracker5 with rt5-db-sqlite and rt5-standalone (apt.txt). `RtSetup.create` makes one RT for a
test session in a temporary folder: an RT_SiteConfig.pm of its own (SQLite there, no syslog, mail to /bin/true,
bcrypt cost 4 so that checking a token takes milliseconds), `rt-setup-database-5 --action init` (RT's schema and
initial data), and authentication tokens made through RT's own Perl API (`RT::AuthToken->Create`, what the web
UI's Auth Tokens page calls): one of root (a SuperUser), one of a privileged user without AdminUsers.
`RtServer.start` runs RT's own server (`rt-server`, Starlet) on a free loopback port with the set-up's database or
a copy of it, waits until REST2 answers, and `stop` ends the processes it started (its own process group, by id).

`RtApi` talks REST2 with the standard library's HTTP client, not the add-in's aiohttp code, so what the add-in
wrote is read back by another client.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RT_LIB = Path("/usr/share/request-tracker5/lib")
SETUP_DATABASE = Path("/usr/sbin/rt-setup-database-5")
RT_SERVER = Path("/usr/share/request-tracker5/libexec/rt-server")
READY_WITHIN = 60.0

SITE_CONFIG = """\
Set($rtname, 'partnercrmd-tests');
Set($Organization, 'partnercrmd.test');
Set($DatabaseType, 'SQLite');
Set($DatabaseName, {database});
Set($WebDomain, '127.0.0.1');
Set($WebPort, {port});
Set($WebPath, '');
Set($WebBaseURL, 'http://127.0.0.1:{port}');
Set($MasonDataDir, {mason});
Set($MasonSessionDir, {sessions});
Set($LogToSyslog, undef);
Set($LogToFile, undef);
Set($LogToSTDERR, 'error');
Set($Timezone, 'UTC');
# RT checks the token with bcrypt on every REST2 request; its default cost (12) takes ~1 s on a busy CI machine.
Set($BcryptCost, 4);
Set($MailCommand, 'sendmail');
Set($SendmailPath, '/bin/true');
Set($SendmailArguments, '');
Set($SendmailBounceArguments, '');
1;
"""

MAKE_TOKENS = r"""
use strict; use warnings;
use RT; RT::LoadConfig(); RT::Init();
my %tokens;
my $root = RT::User->new(RT->SystemUser);
$root->Load('root') or die "no root\n";
my $agent = RT::User->new(RT->SystemUser);
my ($id, $msg) = $agent->Create(Name => 'agent', RealName => 'Agent Without AdminUsers', Privileged => 1,
                                EmailAddress => 'agent@partnercrmd.test');
die "agent: $msg\n" unless $id;
for my $user ($root, $agent) {
    my $token = RT::AuthToken->new(RT->SystemUser);
    my ($ok, $why, $auth) = $token->Create(Owner => $user->Id, Description => 'partnercrmd tests');
    die "token: $why\n" unless $ok;
    $tokens{$user->Name} = $auth;
}
print "TOKENS $tokens{root} $tokens{agent}\n";
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def perl_string(value: Path | str) -> str:
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def write_site_config(folder: Path, database: Path, port: int) -> Path:
    """An RT_SiteConfig.pm for `database` served on `port`, with RT's caches and sessions under `folder`."""
    for sub in ("mason", "sessions", "site.d"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    config = folder / "RT_SiteConfig.pm"
    config.write_text(
        SITE_CONFIG.format(
            database=perl_string(database),
            port=port,
            mason=perl_string(folder / "mason"),
            sessions=perl_string(folder / "sessions"),
        ),
        encoding="utf-8",
    )
    return config


def rt_environment(folder: Path) -> dict[str, str]:
    """RT reads the site's config, not /etc/request-tracker5's (RT::Config honours both variables)."""
    return {
        **os.environ,
        "RT_SITE_CONFIG": str(folder / "RT_SiteConfig.pm"),
        "RT_SITE_CONFIG_DIR": str(folder / "site.d"),
        "PERL5LIB": str(RT_LIB),
    }


@dataclass(frozen=True)
class RtSetup:
    """One RT database made for a test session, and its tokens."""

    database: Path
    root_token: str
    """root's token (a SuperUser: every right)."""
    agent_token: str
    """A privileged user's token without AdminUsers: RT hides users' numbers from it."""
    seconds: float
    """How long the set-up took."""

    @classmethod
    def create(cls, folder: Path) -> RtSetup:
        """RT's database initialised in `folder` and the tokens made; a clear failure when RT is not installed."""
        if not SETUP_DATABASE.exists() or not RT_SERVER.exists():
            raise RuntimeError(
                "Request Tracker 5 is not installed: apt-get install request-tracker5 rt5-db-sqlite rt5-standalone "
                "(plugins/partnercrmd-rt/apt.txt; scripts/test.sh does it)."
            )
        started = time.monotonic()
        database = folder / "rt.sqlite"
        write_site_config(folder, database, 0)
        env = rt_environment(folder)
        subprocess.run(
            [str(SETUP_DATABASE), "--action", "init", "--skip-create"],
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
        made = subprocess.run(["perl", "-e", MAKE_TOKENS], env=env, check=True, capture_output=True, timeout=120)
        [line] = [ln for ln in made.stdout.decode().splitlines() if ln.startswith("TOKENS ")]
        _, root_token, agent_token = line.split()
        return cls(database, root_token, agent_token, time.monotonic() - started)


class RtServer:
    """One running RT (rt-server), on the set-up's database or a copy of it."""

    def __init__(self, setup: RtSetup, folder: Path, process: subprocess.Popen[bytes], port: int) -> None:
        self.setup = setup
        self.folder = folder
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    @classmethod
    def start(cls, setup: RtSetup, folder: Path, *, copy: bool = False) -> RtServer:
        """RT on a free port, serving the set-up's database (`copy`: a copy of it, for a server a test may stop)."""
        folder.mkdir(parents=True, exist_ok=True)
        database = setup.database
        if copy:
            database = folder / "rt.sqlite"
            shutil.copyfile(setup.database, database)
        port = free_port()
        write_site_config(folder, database, port)
        log = (folder / "rt-server.log").open("wb")
        process = subprocess.Popen(
            [str(RT_SERVER), "--port", str(port), "--max-workers", "4"],
            env=rt_environment(folder),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends the workers Starlet forks too
        )
        log.close()
        server = cls(setup, folder, process, port)
        try:
            server.wait_ready()
        except BaseException:
            server.stop()
            raise
        return server

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_WITHIN
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"rt-server exited: {(self.folder / 'rt-server.log').read_text(errors='replace')}")
            try:
                status, _ = self.api().call("GET", "/rt")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"RT did not answer within {READY_WITHIN:g} s on port {self.port}")

    def stop(self) -> None:
        """End rt-server and its workers (the process group it leads) with SIGTERM, then SIGKILL."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        # Workers still shutting down hold the port for a moment; wait until nothing answers.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    pass
            except OSError:
                return
            time.sleep(0.1)

    def api(self, token: str | None = None) -> RtApi:
        return RtApi(self.url, token or self.setup.root_token)


class RtApi:
    """REST2 with the standard library (`Authorization: token …`)."""

    def __init__(self, url: str, token: str) -> None:
        self.root = f"{url}/REST/2.0"
        self.token = token

    def call(self, method: str, path: str, body: Any = None, **params: str | int) -> tuple[int, Any]:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        request = urllib.request.Request(  # noqa: S310 (the test's own loopback RT)
            f"{self.root}{path}{query}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 (the test's own loopback RT)
                raw = answer.read()
                return answer.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as refused:
            raw = refused.read()
            try:
                return refused.code, json.loads(raw) if raw else None
            except ValueError:
                return refused.code, raw.decode(errors="replace")

    def ok(self, method: str, path: str, body: Any = None, **params: str | int) -> Any:
        status, payload = self.call(method, path, body, **params)
        assert status in (200, 201), (status, payload)
        return payload

    def create_user(self, **fields: Any) -> int:
        """A new user; its numeric id."""
        name = self.ok("POST", "/user", fields)["id"]
        return int(self.ok("GET", f"/user/{urllib.parse.quote(str(name), safe='')}")["id"])

    def create_ticket(self, requestor: int, subject: str, queue: str = "General", **more: Any) -> int:
        body = {"Queue": queue, "Subject": subject, "Requestor": [requestor], "Content": subject, **more}
        return int(self.ok("POST", "/ticket", body)["id"])

    def users(self, **conditions: str) -> list[dict[str, Any]]:
        query = [{"field": field, "value": value} for field, value in conditions.items()]
        fields = "id,Name,RealName,EmailAddress,Organization,WorkPhone,MobilePhone,HomePhone,PagerPhone"
        items: list[dict[str, Any]] = self.ok("GET", "/users", query=json.dumps(query), fields=fields)["items"]
        return items

    def tickets(self, sql: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.ok(
            "GET", "/tickets", query=sql, orderby="id", fields="Subject,Status,Queue,TimeWorked"
        )["items"]
        return found

    def history(self, ticket_id: int | str) -> list[dict[str, Any]]:
        """The ticket's transactions, oldest first, each with its text (the first attachment's content)."""
        items = self.ok(
            "GET", f"/ticket/{ticket_id}/history", orderby="id", fields="Type,Created,Data,TimeTaken", per_page=100
        )["items"]
        for item in items:
            item["Text"] = self.transaction_text(item["id"])
        return list(items)

    def transaction_text(self, transaction_id: int | str) -> str:
        links = self.ok("GET", f"/transaction/{transaction_id}").get("_hyperlinks", [])
        for link in links:
            if link.get("ref") == "attachment":
                attachment = self.ok("GET", f"/attachment/{link['_url'].rsplit('/', 1)[-1]}")
                content = attachment.get("Content") or ""
                if content and attachment.get("ContentType", "").startswith("text/"):
                    return base64.b64decode(content).decode("utf-8", errors="replace")
        return ""
