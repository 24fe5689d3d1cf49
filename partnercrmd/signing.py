"""Opaque, unforgeable ids: record ids, action ids and record-page links carry a signed payload.

A client gets these ids from the daemon and hands them back; it cannot edit
one into another record, book or action, because the HMAC would not match.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import orjson

from .errors import BadRequest

MAX_TOKEN_LENGTH = 2048


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _payload_json(payload: dict[str, Any]) -> bytes:
    """`payload` as compact JSON with sorted keys, byte for byte as `json.dumps(…, sort_keys=True)` writes it.

    orjson is about 20 times as fast; it writes non-ASCII text as UTF-8 where `json` escapes it, so such
    payloads go through `json` and every id stays the same as earlier releases issued.
    """
    encoded = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    if encoded.isascii():
        return encoded
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


class Signer:
    """Signs small JSON payloads with an install-wide secret key (kept in the vault)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("signing key too short")
        # The HMAC with the key already absorbed: each token copies it instead of hashing the key again.
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)

    def _mac(self, purpose: str, body: str) -> str:
        mac = self._keyed.copy()
        mac.update(f"{purpose}\x00{body}".encode())
        return _b64(mac.digest()[:24])

    def sign(self, purpose: str, payload: dict[str, Any]) -> str:
        """A token for `payload`, valid only for `purpose` (e.g. "action", "record", "page")."""
        return f"{(body := _b64(_payload_json(payload)))}.{self._mac(purpose, body)}"

    def verify(self, purpose: str, token: str, *, what: str = "id") -> dict[str, Any]:
        """The payload of a token made by `sign` for `purpose`; BadRequest for anything else."""
        invalid = BadRequest(f"The {what} is not one this daemon issued (unknown or altered).", code="invalid_id")
        # Every token this daemon issues is ASCII; anything else is refused before the comparison, which takes
        # ASCII text only (a non-ASCII id in a path or field would otherwise raise instead of being refused).
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1 or not token.isascii():
            raise invalid
        body, mac = token.split(".")
        if not hmac.compare_digest(mac.encode("ascii"), self._mac(purpose, body).encode("ascii")):
            raise invalid
        try:
            payload = json.loads(_unb64(body))
        except ValueError:
            raise invalid from None
        if not isinstance(payload, dict):
            raise invalid
        return payload
