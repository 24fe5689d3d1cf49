"""A real BottleCRM server for the add-in's tests, and a raw HTTP client of its REST API.

`tests/prepare.sh` installs BottleCRM (`django-crm`, Python 3.12 venv) once and keeps a migrated
SQLite database with one organisation, one admin user and that user's personal access tokens.
`BottleCrmServer.start` copies that database into a temporary directory, runs BottleCRM on
127.0.0.1 on a free port under gunicorn, as BottleCRM's own documentation says to serve it in production
(`crm/asgi.py`: "Prefer WSGI in production: gunicorn crm.wsgi:application"; gunicorn is one of django-crm's
dependencies), waits until it answers, and `stop` ends it by its PID.

Not Django's `runserver`, which the tests used before: like Python's `http.server` (CPython issue #108736) it
writes an answer's headers and body in two writes without TCP_NODELAY, so on a kept-alive connection (the
add-in's) every answer waited about 40 ms for the client's delayed ACK (Nagle's algorithm): a detail read took 72
ms through the add-in and 28 ms through a client that closes the connection. No production server behaves so.

`BottleCrmApi` talks to the server with the standard library's HTTP client, not the add-in's
aiohttp code, so what the add-in wrote is read back by another client.
"""

from __future__ import annotations

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

SECRET_KEY = "partnercrmd-tests-only-secret-key-0123456789abcdef"
"""The key prepare.sh used; test-only (BottleCRM signs tokens with it)."""
READY_WITHIN = 60.0
GUNICORN_OPTIONS = ("--workers", "1", "--threads", "4", "--graceful-timeout", "5", "--access-logfile", "-")
"""One worker process (so that BottleCRM's per-process caches, its rate limits among them, behave as one server,
as `runserver` did) with four threads: the add-in sends several requests at once (a search's reads, an index
refresh's pages); an in-flight request gets 5 s to end when the tests stop the server."""
PREPARE = "bash plugins/partnercrmd-bottlecrm/tests/prepare.sh"


def cache_dir() -> Path:
    """Where prepare.sh put the venv and the database (keep in step with prepare.sh)."""
    base = os.environ.get("PARTNERCRMD_TEST_CACHE") or str(Path.home() / ".cache" / "partnercrmd-tests")
    return Path(base) / "bottlecrm"


@dataclass(frozen=True)
class Prepared:
    python: Path
    site: Path
    database: Path
    token: str
    read_only_token: str
    org_api_key: str

    @classmethod
    def load(cls) -> Prepared:
        """What prepare.sh made; a clear failure (never a skip) when it has not run."""
        cache = cache_dir()
        python = cache / "venv" / "bin" / "python"
        database = cache / "pristine.sqlite3"
        seed_file = cache / "seed.json"
        if not (python.exists() and database.exists() and seed_file.exists() and (cache / "ready").exists()):
            raise RuntimeError(f"BottleCRM is not prepared in {cache}: run `{PREPARE}` first.")
        seed = json.loads(seed_file.read_text(encoding="utf-8"))
        return cls(
            python=python,
            site=cache / "site",
            database=database,
            token=seed["token"],
            read_only_token=seed["read_only_token"],
            org_api_key=seed["org_api_key"],
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class BottleCrmServer:
    """One running BottleCRM, on its own copy of the prepared database."""

    def __init__(self, prepared: Prepared, data_dir: Path, process: subprocess.Popen[bytes], port: int) -> None:
        self.prepared = prepared
        self.data_dir = data_dir
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    @classmethod
    def start(cls, prepared: Prepared, data_dir: Path) -> BottleCrmServer:
        data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(prepared.database, data_dir / "db.sqlite3")
        port = free_port()
        env = {
            **os.environ,
            "BOTTLECRM_DATA": str(data_dir),
            "PYTHONPATH": str(prepared.site),
            "DJANGO_SETTINGS_MODULE": "partnercrmd_test_settings",
            "SECRET_KEY": SECRET_KEY,
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        command = [
            str(prepared.python),
            "-m",
            "gunicorn",
            "crm.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            *GUNICORN_OPTIONS,
        ]
        with (data_dir / "server.log").open("wb") as output:
            process = subprocess.Popen(  # stopped by PID in stop()
                command,
                cwd=data_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        server = cls(prepared, data_dir, process, port)
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
                raise RuntimeError(f"BottleCRM exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz/", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"BottleCRM did not answer within {READY_WITHIN:g} s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        path = self.data_dir / "server.log"
        return path.read_text(encoding="utf-8", errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        """End the server by its PID (SIGTERM, then SIGKILL after 10 s)."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def api(self, token: str | None = None) -> BottleCrmApi:
        return BottleCrmApi(self.url, self.prepared.token if token is None else token)


class BottleCrmApi:
    """BottleCRM's REST API through urllib: the tests' own client, independent of the add-in."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)  # noqa: S310
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            with error:
                raw = error.read()
            try:
                return error.code, json.loads(raw or b"null")
            except json.JSONDecodeError:
                return error.code, raw.decode("utf-8", "replace")

    def create_contact(self, **fields: Any) -> str:
        status, answer = self.call("POST", "/api/contacts/", fields)
        assert status == 200 and answer["error"] is False, (status, answer)
        return str(answer["id"])

    def contact(self, contact_id: str) -> dict[str, Any]:
        status, answer = self.call("GET", f"/api/contacts/{contact_id}/")
        assert status == 200, (status, answer)
        record: dict[str, Any] = answer["contact_obj"]
        return record

    def contacts(self, **filters: str) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode({**filters, "limit": 100})
        status, answer = self.call("GET", f"/api/contacts/?{query}")
        assert status == 200, (status, answer)
        results: list[dict[str, Any]] = answer["results"]
        return results

    def interactions(self, contact_id: str) -> list[dict[str, Any]]:
        status, answer = self.call("GET", f"/api/interactions/?contact={contact_id}")
        assert status == 200, (status, answer)
        rows: list[dict[str, Any]] = answer["interactions"]
        return rows
