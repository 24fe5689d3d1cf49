"""`partnercrmd dial URI`: what a click on a tel:, callto: or sip: link runs.

A light command: it must reach the daemon at once, so it imports only the discovery
file's reader and the standard library's HTTP client (no aiohttp, pluggy or add-ins).
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from ..discovery import NotRunning, read_discovery
from ..errors import BadRequest
from ..paths import Paths

URI_SOURCES = {"tel": "Tel", "callto": "CallTo", "sip": "Sip", "sips": "Sip"}


def post_to_daemon(paths: Paths, route: str, fields: dict[str, str]) -> dict[str, Any]:
    """POST to the running daemon with the install token (the user's own program); its JSON answer."""
    info = read_discovery(paths.discovery_file)
    request = urllib.request.Request(
        f"http://127.0.0.1:{info['port']}/api/v1/{route}",
        data=urllib.parse.urlencode(fields).encode(),
        headers={"Authorization": f"Bearer {info['token']}", "Host": f"127.0.0.1:{info['port']}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  (loopback, fixed scheme)
            body = response.read()
    except urllib.error.HTTPError as exc:
        try:
            message = str(json.loads(exc.read()).get("Message", exc.reason))
        except ValueError:
            message = str(exc.reason)
        raise BadRequest(message) from None
    except OSError as exc:
        raise NotRunning(f"partnercrmd did not answer on port {info['port']} ({exc}).") from None
    answer: dict[str, Any] = json.loads(body) if body else {}
    return answer


def cmd_dial(args: argparse.Namespace, paths: Paths) -> int:
    scheme = args.uri.partition(":")[0].lower() if ":" in args.uri else ""
    source = URI_SOURCES.get(scheme, "Api")
    target = post_to_daemon(paths, "Dial", {"Destination": args.uri[:256], "Source": source})
    print(f"Asked the phone client to dial {target['DisplayNumber']} ({target['Destination']}).")
    return 0


def add_parser(sub: Any) -> None:
    dial = sub.add_parser("dial", help="ask the running daemon to have the phone client dial (tel:, callto:, sip:)")
    dial.add_argument("uri", help="e.g. tel:+442079460958")
    dial.set_defaults(func=cmd_dial)
