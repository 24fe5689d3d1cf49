"""Pairing the browser extension (SECURITY.md rule 7): one-time codes exchanged for the extension's own registration.

A browser extension cannot be told apart by its Origin alone (Firefox gives
each install a random one), and a web page must never be able to pose as it.
So the user asks partnercrmd for a pairing code and types it into the
extension's options page; the extension POSTs it to `PairExtension` and gets
its own approved application id. The daemon allow-lists the extension's origin
(`AppRecord.origin`, fed to the Origin check by `AppRegistry.origins()`) at that
moment. `partnercrmd apps revoke <id>` cuts it off again (the origin goes too).

Codes live in the vault (key `extension_pairing`), so `partnercrmd extension
pair` works whether or not the daemon runs, and a code is good once, for
`CODE_TTL` seconds. Codes are stored as digests. Every failed exchange uses up one of
`MAX_ATTEMPTS` for every waiting code: guessing cannot outrun that.

For the configuration UI:

    from partnercrmd.extension_pairing import new_pairing_code
    code = await new_pairing_code(request.app)   # PairingCode: show code.text and code.expires_in()

`create_pairing_code(vault)` is the blocking form (the CLI uses it).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from . import appkeys
from .client_apps import AppRecord, AppStatus
from .errors import BadRequest, Forbidden
from .vault import Vault

VAULT_KEY = "extension_pairing"
CODE_TTL = 300.0
"""Seconds a pairing code stays good."""
MAX_ATTEMPTS = 5
"""Failed exchanges after which a waiting code is void."""
MAX_WAITING = 5
"""Codes that may wait at once; a newer one pushes out the oldest."""
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
"""No 0/O, 1/I/L: codes are read off a screen and typed by hand."""
CODE_LENGTH = 8
EXTENSION_SCHEMES = ("chrome-extension://", "moz-extension://", "extension://", "safari-web-extension://")
"""Origins only a browser gives its own extensions: a web page cannot send one."""


@dataclass(frozen=True)
class PairingCode:
    """A new code to show the user: `text` is what they type ("ABCD-EFGH"), valid until `expires` (epoch s)."""

    text: str
    expires: float

    def expires_in(self) -> int:
        """Whole seconds left (for "valid for 5 minutes")."""
        return max(0, int(self.expires - time.time()))


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def normalise_code(typed: str) -> str:
    """What the user typed, upper case without spaces or dashes ("abcd efgh" = "ABCD-EFGH")."""
    return "".join(c for c in typed.upper() if c.isalnum())


def is_extension_origin(origin: str) -> bool:
    return origin.startswith(EXTENSION_SCHEMES) and len(origin) <= 200 and "/" not in origin.split("://", 1)[1]


def _waiting(doc: dict[str, Any], now: float) -> list[dict[str, Any]]:
    """The codes still good, pruned of expired and used-up ones (in the document)."""
    codes = [
        c
        for c in doc.get(VAULT_KEY, [])
        if isinstance(c, dict) and float(c.get("expires", 0)) > now and int(c.get("attempts", 0)) > 0
    ]
    doc[VAULT_KEY] = codes
    return codes


def create_pairing_code(vault: Vault, ttl: float = CODE_TTL) -> PairingCode:
    """A new one-time code, kept (as a digest) in the vault. Blocks on the vault: run it off the event loop."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    now = time.time()
    code = PairingCode(f"{raw[:4]}-{raw[4:]}", now + ttl)

    def change(doc: dict[str, Any]) -> None:
        codes = _waiting(doc, now)
        codes.append({"digest": _digest(raw), "expires": code.expires, "attempts": MAX_ATTEMPTS})
        doc[VAULT_KEY] = codes[-MAX_WAITING:]

    vault.update(change)
    return code


async def new_pairing_code(app: web.Application) -> PairingCode:
    """A new one-time code for the configuration UI to show ("Dialling helpers → Browser extension → Pair")."""
    return await asyncio.to_thread(create_pairing_code, app[appkeys.VAULT])


def redeem_pairing_code(vault: Vault, typed: str, origin: str, name: str) -> AppRecord:
    """Exchange a code for an approved application with `origin` allow-listed; Forbidden if the code is not good.

    Any earlier registration of the same origin (the same extension paired again) is revoked.
    Blocks on the vault: run it off the event loop.
    """
    code = normalise_code(typed)
    wanted = _digest(code) if code.isascii() and len(code) == CODE_LENGTH else ""  # never matches otherwise
    now = time.time()

    def change(doc: dict[str, Any]) -> tuple[AppRecord | None, bool]:
        codes = _waiting(doc, now)
        match = next((c for c in codes if wanted and hmac.compare_digest(str(c.get("digest", "")), wanted)), None)
        if match is None:
            for waiting in codes:
                waiting["attempts"] = int(waiting.get("attempts", 0)) - 1
            _waiting(doc, now)
            return None, bool(codes)
        codes.remove(match)
        apps = doc.setdefault("apps", {})
        for other in apps.values():
            if other.get("origin") == origin:
                other["status"] = str(AppStatus.REVOKED)
        app_id = str(uuid.uuid4())
        record = {
            "id": app_id,
            "name": name,
            "status": str(AppStatus.APPROVED),
            "user_id": "",
            "registered": datetime.now(UTC).isoformat(timespec="seconds"),
            "origin": origin,
        }
        apps[app_id] = record
        return AppRecord.from_dict(record), True

    record, any_waiting = vault.update(change)
    if record is None:
        if not any_waiting:
            raise Forbidden(
                "No pairing code is waiting (codes work once, for a few minutes): get a new one from partnercrmd "
                "(configuration window, or `partnercrmd extension pair`).",
                code="no_pairing_code",
            )
        raise Forbidden(
            "That pairing code is wrong or was used already; check it, or get a new one from partnercrmd.",
            code="wrong_pairing_code",
        )
    return record


async def pair_extension(request: web.Request, fields: dict[str, Any]) -> web.StreamResponse:
    """POST PairExtension: the extension's options page trades a code for its own ApplicationId."""
    origin = request.headers.get("Origin", "")
    if not is_extension_origin(origin):
        raise Forbidden(
            "Only the partnercrmd browser extension can pair, from its options page.", code="not_an_extension"
        )
    if not normalise_code(fields["Code"]):
        raise BadRequest("Enter the pairing code partnercrmd showed you.", code="missing_field")
    name = fields["Name"] or "Browser extension"
    vault = request.app[appkeys.VAULT]
    record = await asyncio.to_thread(redeem_pairing_code, vault, fields["Code"], origin, name)
    await request.app[appkeys.APPS].refresh(await asyncio.to_thread(vault.read))
    return web.json_response(
        {
            "ApplicationId": record.id,
            "Region": request.app[appkeys.REGION],
            "ProductName": request.app[appkeys.CONFIG].branding.product_name,
        }
    )
