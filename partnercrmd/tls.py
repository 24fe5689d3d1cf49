"""The daemon's local certificate authority, its certificate for localhost, and the SSL context of HTTPS (issue #20).

The authority is made on first use (`partnercrmd tls install`, or the first start with HTTPS asked for) and
lives in `CONFIG_DIR/tls/`: `authority.pem` (the certificate the user's trust stores receive) and
`authority-key.pem` (mode 0600; it never leaves that directory). It is an EC P-256 authority named after
the product (the partner's branding), valid ten years, and name-constrained to localhost, 127.0.0.0/8 and
::1, so even a stolen key cannot vouch for any other site. It signs one short-lived certificate
(`localhost.pem`, `localhost-key.pem`) for `localhost`, `127.0.0.1` and `::1`, which is renewed when less
than `RENEW_BEFORE` of it is left: at every start and by a daily check while the daemon runs
(`ServerTls.keep_fresh`), swapped into the SSL context the HTTPS site serves with, without a restart.

Everything here that touches files or makes keys blocks: the daemon calls it through `asyncio.to_thread`.
Whether HTTPS is on, and where these files are, is tls_files.py: a daemon without HTTPS never imports this.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import logging
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .errors import ConfigError
from .platform.files import atomic_write, ensure_private_dir, exclusive_lock

# Re-exported: `partnercrmd tls` and the tests use them with the rest of this module.
from .tls_files import DEFAULT_HTTPS_PORT as DEFAULT_HTTPS_PORT
from .tls_files import Clock as Clock
from .tls_files import TlsFiles as TlsFiles
from .tls_files import https_port as https_port
from .tls_files import utc_now as utc_now

log = logging.getLogger(__name__)

AUTHORITY_LIFETIME = timedelta(days=3650)
LEAF_LIFETIME = timedelta(days=90)
"""How long a localhost certificate is valid (well under the 397 days browsers accept)."""
RENEW_BEFORE = timedelta(days=30)
"""A localhost certificate with less than this left is replaced."""
BACKDATE = timedelta(hours=1)
"""Certificates start to be valid a little before they are made: a clock that is slightly behind still accepts them."""
CHECK_INTERVAL = 24 * 3600.0
"""Seconds between two checks of the running daemon's certificate."""
LEAF_DNS_NAMES = ("localhost",)
LEAF_ADDRESSES = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
PERMITTED_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


class TlsError(ConfigError):
    code = "tls_error"


def fingerprint(certificate: x509.Certificate) -> str:
    """The certificate's SHA-256 fingerprint as browsers show it (AB:CD:…)."""
    digest = certificate.fingerprint(hashes.SHA256())
    return ":".join(f"{byte:02X}" for byte in digest)


def short_id(certificate: x509.Certificate) -> str:
    """Eight hex digits of the SHA-256 fingerprint: tells one authority from a later one of the same name."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()[:8]


def common_name(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else certificate.subject.rfc4514_string()


def authority_name(product_name: str) -> str:
    return f"{product_name} local authority"


@dataclass(frozen=True)
class Authority:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def name(self) -> str:
        return common_name(self.certificate)

    @property
    def store_name(self) -> str:
        """The name it is stored under where a trust store names certificates (NSS): its name and short id, so a
        later authority of the same product never takes an earlier one's place."""
        return f"{self.name} {short_id(self.certificate)}"


@dataclass(frozen=True)
class Certificates:
    """What is on disk after `ensure_certificates`: the authority, the localhost certificate, whether it is new."""

    authority: Authority
    leaf: x509.Certificate
    renewed: bool


def create_authority(product_name: str, now: datetime) -> Authority:
    """A new authority: EC P-256, ten years, may sign only for localhost and the loopback addresses."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, authority_name(product_name)[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, product_name[:64] or "partnercrmd"),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + AUTHORITY_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            # why: a key that leaks cannot be used to impersonate any other site to this user's browsers
            x509.NameConstraints(
                permitted_subtrees=[
                    *(x509.DNSName(dns) for dns in LEAF_DNS_NAMES),
                    *(x509.IPAddress(network) for network in PERMITTED_NETWORKS),
                ],
                excluded_subtrees=None,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Authority(certificate, key)


def issue_leaf(authority: Authority, now: datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A new certificate for localhost, 127.0.0.1 and ::1, valid LEAF_LIFETIME, signed by `authority`."""
    key = ec.generate_private_key(ec.SECP256R1())
    authority_key_id = authority.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(authority.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(min(now + LEAF_LIFETIME, authority.certificate.not_valid_after_utc))
        .add_extension(
            x509.SubjectAlternativeName(
                [*(x509.DNSName(dns) for dns in LEAF_DNS_NAMES), *(x509.IPAddress(ip) for ip in LEAF_ADDRESSES)]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(authority_key_id), critical=False)
        .sign(authority.key, hashes.SHA256())
    )
    return certificate, key


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def read_certificate(path: Path) -> x509.Certificate | None:
    """The certificate in a PEM file; None when there is no file; TlsError when it is unreadable."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise TlsError(f"Cannot read {path}: {exc.strerror}.") from None
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        raise TlsError(
            f"{path} is not a PEM certificate; `partnercrmd tls uninstall --delete` then `partnercrmd tls install` "
            "makes a new local authority."
        ) from None


def read_authority(files: TlsFiles) -> Authority | None:
    """The authority on disk; None when there is none; TlsError when its files are damaged or do not match."""
    certificate = read_certificate(files.authority)
    if certificate is None:
        return None
    try:
        key = serialization.load_pem_private_key(files.authority_key.read_bytes(), password=None)
    except FileNotFoundError:
        raise TlsError(
            f"The local authority's key {files.authority_key} is missing; `partnercrmd tls uninstall --delete` then "
            "`partnercrmd tls install` makes a new one."
        ) from None
    except (OSError, ValueError, TypeError):
        raise TlsError(
            f"The local authority's key {files.authority_key} is unreadable; `partnercrmd tls uninstall --delete` "
            "then `partnercrmd tls install` makes a new one."
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != certificate.public_key():
        raise TlsError(f"The key {files.authority_key} does not belong to the authority {files.authority}.")
    return Authority(certificate, key)


def _read_leaf(files: TlsFiles) -> x509.Certificate | None:
    """The localhost certificate on disk when its key is there and belongs to it (a crash between the two
    writes leaves a pair that does not match: then it is made again); else None."""
    try:
        key = serialization.load_pem_private_key(files.leaf_key.read_bytes(), password=None)
        leaf = read_certificate(files.leaf)
    except (OSError, ValueError, TypeError, TlsError):
        return None
    return leaf if leaf is not None and leaf.public_key() == key.public_key() else None


def leaf_is_current(leaf: x509.Certificate, authority: Authority, now: datetime) -> bool:
    """True when `leaf` was signed by `authority`, is valid now and has more than RENEW_BEFORE left."""
    try:
        leaf.verify_directly_issued_by(authority.certificate)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return leaf.not_valid_before_utc <= now and leaf.not_valid_after_utc - now > RENEW_BEFORE


def renewal_date(leaf: x509.Certificate) -> datetime:
    """When the daemon replaces `leaf`."""
    return leaf.not_valid_after_utc - RENEW_BEFORE


def ensure_certificates(files: TlsFiles, product_name: str, now: datetime, *, create: bool) -> Certificates:
    """The authority and a current localhost certificate, made or renewed as needed; blocking.

    `create`: make the authority when there is none (else TlsError). A localhost certificate that is
    missing, not the authority's, or due for renewal is replaced. Under a file lock, so the daemon and
    `partnercrmd tls install` never write at once; every file is written atomically, keys 0600.
    """
    ensure_private_dir(files.directory)
    with exclusive_lock(files.lock):
        authority = read_authority(files)
        if authority is None:
            if not create:
                raise TlsError("There is no local authority yet; `partnercrmd tls install` makes one.")
            authority = create_authority(product_name, now)
            atomic_write(files.authority_key, _pem_key(authority.key))  # the key first: a certificate means both
            atomic_write(files.authority, _pem(authority.certificate), private=False)
            log.info("made the local authority %s (%s)", authority.name, fingerprint(authority.certificate))
        leaf = _read_leaf(files)
        if leaf is not None and leaf_is_current(leaf, authority, now):
            return Certificates(authority, leaf, renewed=False)
        leaf, key = issue_leaf(authority, now)
        atomic_write(files.leaf_key, _pem_key(key))
        atomic_write(files.leaf, _pem(leaf))
        log.info("issued the certificate for localhost, valid until %s", leaf.not_valid_after_utc.isoformat())
        return Certificates(authority, leaf, renewed=True)


def delete_files(files: TlsFiles) -> list[Path]:
    """Remove the authority and the localhost certificate (their keys first); the files removed."""
    removed = []
    with exclusive_lock(files.lock):
        for path in (files.authority_key, files.leaf_key, files.leaf, files.authority):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed


def _empty_server_context() -> ssl.SSLContext:
    """An SSL server context with no certificate yet: the one place the HTTPS site's protocol floor is set."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """An SSL server context serving the localhost certificate on disk (TLS 1.2 and later); blocking."""
    context = _empty_server_context()
    context.load_cert_chain(files.leaf, files.leaf_key)
    return context


class ServerTls:
    """The SSL context the HTTPS site serves with; a renewed certificate reaches new connections without a restart.

    aiohttp's site holds one `context` for its lifetime. Its SNI callback, which OpenSSL calls in every
    handshake (with or without a server name), hands the connection the newest context, so renewing means
    building a new context off the event loop and swapping one reference. Connections already open keep
    the certificate they started with (still valid: it is renewed well before it expires).
    """

    def __init__(self, files: TlsFiles, product_name: str, clock: Clock = utc_now) -> None:
        self.files = files
        self.product_name = product_name
        self.clock = clock
        self.context = _empty_server_context()
        self.context.sni_callback = self._serve_newest
        self._newest = self.context
        self.leaf: x509.Certificate | None = None
        self.authority: Authority | None = None

    def _serve_newest(self, connection: ssl.SSLObject | ssl.SSLSocket, server_name: str | None, _: object) -> None:
        if self._newest is not self.context:
            connection.context = self._newest

    def start(self, create: bool) -> None:
        """Make the authority (when `create` allows and it is missing) and renew what is due, then load the
        certificate into `context`; blocking, before the site starts."""
        certificates = ensure_certificates(self.files, self.product_name, self.clock(), create=create)
        self.context.load_cert_chain(self.files.leaf, self.files.leaf_key)
        self.authority, self.leaf = certificates.authority, certificates.leaf

    async def renew_if_due(self) -> bool:
        """Renew the certificate when it is due and serve the new one to new connections; True when renewed."""
        certificates = await asyncio.to_thread(
            ensure_certificates, self.files, self.product_name, self.clock(), create=False
        )
        if certificates.leaf == self.leaf:
            return False
        self._newest = await asyncio.to_thread(server_context, self.files)
        self.authority, self.leaf = certificates.authority, certificates.leaf
        log.info("renewed the HTTPS certificate, now valid until %s", self.leaf.not_valid_after_utc.isoformat())
        return True

    async def keep_fresh(self, interval: float = CHECK_INTERVAL) -> None:
        """Check every `interval` seconds until cancelled; a failed check is logged and tried again next time."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.renew_if_due()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001  (the daemon goes on serving the current certificate)
                log.warning("checking the HTTPS certificate failed: %s", exc)
