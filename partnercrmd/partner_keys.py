"""Ed25519 signatures of the partner: licence files and unlock codes for Controlled integrations.

The partner keeps the private key; the branding file carries the public key.
A signed token is ``<kind>.<payload>.<signature>``, both parts base64url
without padding, the signature covering ``<kind>.<payload>``, so a token of
one kind (a licence) can never be passed off as another (an unlock code).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import BadRequest


class SignatureError(BadRequest):
    """A signed token that is malformed, of another kind, or not signed by the partner's key."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def generate_private_key() -> tuple[str, str]:
    """A new key pair: (private key as PEM text, public key as base64url of its 32 raw bytes)."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem.decode("ascii"), public_key_text(key.public_key())


def public_key_text(key: Ed25519PublicKey) -> str:
    return _b64encode(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def load_private_key(pem: str | bytes) -> Ed25519PrivateKey:
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SignatureError(f"Not an unencrypted PEM private key: {exc}", code="bad_private_key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureError("The private key is not an Ed25519 key.", code="bad_private_key")
    return key


def load_public_key(text: str) -> Ed25519PublicKey:
    """The partner's public key from its base64url text (as the branding file holds it)."""
    try:
        raw = _b64decode(text.strip())
        return Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, binascii.Error):
        raise SignatureError(
            "The partner public key must be 32 bytes in base64url (see `partnercrmd partner keygen`).",
            code="bad_public_key",
        ) from None


def sign(key: Ed25519PrivateKey, kind: str, payload: dict[str, Any]) -> str:
    body = _b64encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    signature = key.sign(f"{kind}.{body}".encode("ascii"))
    return f"{kind}.{body}.{_b64encode(signature)}"


def verify(key: Ed25519PublicKey | None, kind: str, token: str, *, what: str) -> dict[str, Any]:
    """The payload of `token` if the partner's key signed it as `kind`; else `SignatureError` naming `what`."""
    if key is None:
        raise SignatureError(
            f"This installation has no partner public key, so no {what} can be checked.", code="no_partner_key"
        )
    parts = "".join(token.split()).split(".")
    if len(parts) != 3 or parts[0] != kind:
        raise SignatureError(f"This is not a valid {what}: check that it was copied whole.", code="malformed_token")
    try:
        key.verify(_b64decode(parts[2]), f"{parts[0]}.{parts[1]}".encode("ascii"))
        payload = json.loads(_b64decode(parts[1]))
    except (InvalidSignature, ValueError, binascii.Error, UnicodeError):
        raise SignatureError(
            f"This {what} was not issued for this product or has been altered.", code="bad_signature"
        ) from None
    if not isinstance(payload, dict):
        raise SignatureError(f"This is not a valid {what}.", code="malformed_token")
    return payload
