"""A CRM that refuses every request and quotes it back whole, for tests that look for leaked secrets.

`EchoServer(status)` answers every request (any method, any path) with `status` and a JSON body in
which every field a client may show from an error answer (`detail`, `message`, `error`,
`error_description`, `errors`, `title`, `fault`) holds the whole request: request line, headers
(credentials included) and body. An add-in that copies a server's words about a failure into an
error message or a log line then carries its own credentials along, as it would with a real server
that echoes the request in its errors (many proxies and debug pages do).

With `grant_tokens`, a POST to a path ending in `/token` is answered like an OAuth 2 token endpoint
(RFC 6749 §5.1) instead: a fresh access token (and, for the authorization code grant, a refresh
token; a refresh grant keeps its refresh token, as Salesforce does) whose values are kept in
`issued`, so a test can look for them too.

The server runs in a thread of the test process and listens on 127.0.0.1; `port` may be given to
take over the port an earlier server of the same test used (the books stay pointed at it).
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

LOOPBACK = "127.0.0.1"
ERROR_FIELDS = ("detail", "message", "error", "error_description", "title", "fault")
"""The fields of an error answer that clients commonly show; each holds the whole request."""
MAX_REQUEST_BODY = 1024 * 1024


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


class EchoServer:
    """Answers every request with `status` and the request quoted back (see the module's docstring)."""

    def __init__(self, status: int, *, port: int = 0, grant_tokens: bool = False, token_prefix: str = "") -> None:
        self.status = status
        self.grant_tokens = grant_tokens
        self.token_prefix = token_prefix or f"granted-by-{status}"
        self.issued: list[str] = []
        """Every access and refresh token this server has granted."""
        self.requests = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((LOOPBACK, port), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=f"echo-{status}", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def close(self) -> None:
        """Stop listening and release the port."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> EchoServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _grant(self, form: dict[str, list[str]]) -> dict[str, Any]:
        with self._lock:
            serial = len(self.issued) + 1
            access = f"{self.token_prefix}-access-{serial}-{secrets.token_hex(8)}"
            answer: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_in": 3600}
            self.issued.append(access)
            if form.get("grant_type") == ["authorization_code"]:
                refresh = f"{self.token_prefix}-refresh-{serial}-{secrets.token_hex(8)}"
                answer["refresh_token"] = refresh
                self.issued.append(refresh)
        return answer

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = min(int(self.headers.get("Content-Length") or 0), MAX_REQUEST_BODY)
                body = self.rfile.read(length) if length else b""
                with server._lock:
                    server.requests += 1
                if server.grant_tokens and self.command == "POST" and self.path.split("?")[0].endswith("/token"):
                    self._send(200, server._grant(parse_qs(body.decode("utf-8", "replace"))))
                    return
                quoted = f"{self.requestline}\r\n{self.headers}".rstrip("\r\n") + "\r\n\r\n"
                quoted += body.decode("utf-8", "replace")
                answer: dict[str, Any] = {field: quoted for field in ERROR_FIELDS}
                answer["errors"] = [{"message": quoted}]
                self._send(server.status, answer)

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _answer
            do_PROPFIND = do_REPORT = do_MKCOL = _answer  # WebDAV (CardDAV)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test reads answers, not the server's access log."""

        return Handler
