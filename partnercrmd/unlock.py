"""Unlock codes: the partner's signed permission to show Controlled integrations to one customer.

A code is a `partner_keys` token of kind ``unlock`` whose payload names the
integration ids it unlocks (``i``), its own id (``id``) and when it was issued
(``at``). It is signed with the partner's Ed25519 private key and checked with
the public key of the branding file, so it cannot be forged, and because the
signature covers the list of integrations it cannot be changed to unlock
others. Entering a code records each unlocked id in the vault under
``unlocked`` (see `catalogue.py`).

`issue_code` runs on the partner's side (``partnercrmd partner unlock-code``);
`redeem_code` runs on the user's (the Integrations page, ``partnercrmd unlock``).
Both block (vault, files): call them off the event loop.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from . import partner_keys
from .addin_host import AddinHost
from .branding import Branding
from .catalogue import UNLOCKED_KEY
from .errors import BadRequest
from .integration import Classification, Integration
from .vault import Vault

KIND = "unlock"
MAX_CODE_CHARS = 4096
INTEGRATION_ID_CHARS = 64


class UnlockError(BadRequest):
    code = "bad_unlock_code"


@dataclass(frozen=True)
class UnlockCode:
    """What a verified code says."""

    code_id: str
    integrations: tuple[str, ...]
    issued: str


def issue_code(key: Ed25519PrivateKey, integrations: Sequence[str], *, code_id: str = "") -> str:
    """A new unlock code for `integrations`, signed with the partner's private key."""
    ids = sorted({i.strip() for i in integrations if i.strip()})
    if not ids:
        raise UnlockError("Name at least one integration id for the code to unlock.")
    if any(len(i) > INTEGRATION_ID_CHARS for i in ids):
        raise UnlockError(f"Integration ids are at most {INTEGRATION_ID_CHARS} characters.")
    payload = {
        "i": ids,
        "id": code_id or uuid.uuid4().hex[:16],
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return partner_keys.sign(key, KIND, payload)


def read_code(branding: Branding, text: str) -> UnlockCode:
    """The verified content of a code the user entered; `SignatureError`/`UnlockError` with a plain message if not."""
    text = text.strip()
    if not text:
        raise UnlockError("Enter the unlock code you were given.", code="missing_field")
    if len(text) > MAX_CODE_CHARS:
        raise UnlockError("This is not an unlock code: it is far too long.")
    payload: dict[str, Any] = partner_keys.verify(branding.public_key, KIND, text, what="unlock code")
    ids = payload.get("i")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise UnlockError("This unlock code names no integration; ask for a new one.")
    return UnlockCode(str(payload.get("id", "")), tuple(ids), str(payload.get("at", "")))


def redeem_code(vault: Vault, host: AddinHost, branding: Branding, text: str) -> list[Integration]:
    """Check a code and unlock the installed, shipped Controlled integrations it names; returns them."""
    code = read_code(branding, text)
    found = [host.integration(i) for i in code.integrations]
    usable = [
        i for i in found if i is not None and i.classification is Classification.CONTROLLED and branding.ships(i.id)
    ]
    if not usable:
        names = ", ".join(code.integrations)
        raise UnlockError(
            f"This code is genuine but unlocks {names}, which this installation does not have; "
            "ask your provider for the add-in or for the right code.",
            code="nothing_to_unlock",
        )
    stamp = datetime.now(UTC).isoformat(timespec="seconds")

    def change(doc: dict[str, Any]) -> None:
        unlocked = doc.get(UNLOCKED_KEY)
        if not isinstance(unlocked, dict):
            unlocked = doc[UNLOCKED_KEY] = {}
        for integration in usable:
            unlocked[integration.id] = {"code_id": code.code_id, "at": stamp}

    vault.update(change)
    return usable
