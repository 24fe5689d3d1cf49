"""How add-ins name a server and a network failure in the messages users see (ExceptionText, Test results).

For add-in authors: `display_address` never shows user info, a path or a query
(they may hold credentials); `os_reason` says what the system reported, in its own words.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit


def display_address(url: str) -> str:
    """The server as messages name it: scheme, host and port only (never user info, a path or a query)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def os_reason(error: OSError) -> str:
    """ "Connection refused", "Name or service not known"…: what went wrong, in the system's words."""
    if isinstance(error, socket.gaierror) or not error.errno:
        return error.strerror or type(error).__name__
    return os.strerror(error.errno)
