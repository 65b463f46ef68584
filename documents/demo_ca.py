"""The embedded mode's signing credentials: a demo root CA and an agency certificate, made on first use.

They live outside the repository (settings.DOCUMENTS_DEMO_CA_DIR, by default
~/.local/share/sttt-cases/demo-ca) and say DEMO in their subjects, so that nobody mistakes a demo signature for an
agency's. Layout of the directory:

    root-ca.pem          the demo root certificate (the trust root the validation adds in demo mode)
    agency.p12           the agency's key and certificate chain (PKCS#12)
    agency.p12.password  its password (mode 0600)

Two processes starting at once (web and worker) take an exclusive lock on `.lock` in the directory; files are
written under temporary names and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings

ROOT_NAME = "root-ca.pem"
PKCS12_NAME = "agency.p12"
PASSWORD_NAME = "agency.p12.password"

DEMO_ORGANISATION = "CHỨNG THƯ SỐ THỬ NGHIỆM – DEMO"
DEMO_ROOT_CN = "CA THỬ NGHIỆM – DEMO (không có giá trị pháp lý)"
DEMO_AGENCY_CN = "CƠ QUAN CẤP KẾT QUẢ THỬ NGHIỆM – DEMO"

ROOT_LIFETIME = timedelta(days=20 * 365)
AGENCY_LIFETIME = timedelta(days=5 * 365)
# An agency certificate this close to its end is issued again (same root, new key).
AGENCY_RENEW_BEFORE = timedelta(days=30)
# Both demo certificates are valid from this moment, whatever the clock says when they are made: the demo department
# (demo/) issues documents dated from July 2019, each signed under the clock of its day, and a signature's time
# before its certificate's start would be a signature the certificate could not have made. The agency certificate
# lasts at least to DEMO_VALID_FROM + ROOT_LIFETIME, so that a demo signature made under the demo's 2019 clock still
# validates today without a timestamp server (a real agency's certificate lives 1-3 years: its signatures need
# DOCUMENTS_TSA_URL to be validated after it ends).
DEMO_VALID_FROM = datetime(2018, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class DemoCredentials:
    pkcs12: Path
    password: bytes
    root: Path


def demo_ca_dir() -> Path:
    configured = getattr(settings, "DOCUMENTS_DEMO_CA_DIR", "") or ""
    if configured:
        return Path(configured).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "sttt-cases" / "demo-ca"


def demo_root_path() -> Path:
    """Where the demo root certificate is (it may not exist yet: nothing was signed in demo mode then)."""
    return demo_ca_dir() / ROOT_NAME


def demo_credentials_ensure() -> Path:
    """The demo agency's PKCS#12 path, creating the demo CA and certificate on first use (idempotent)."""
    return demo_credentials().pkcs12


def demo_credentials() -> DemoCredentials:
    directory = demo_ca_dir()
    existing = _read(directory)
    if existing is not None:
        return existing
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    paths = DemoCredentials(directory / PKCS12_NAME, b"", directory / ROOT_NAME)
    password_path = directory / PASSWORD_NAME
    with open(directory / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            # Another process may have made them while this one waited for the lock.
            existing = _read(directory)
            if existing is not None:
                return existing
            root_key, root_cert = _root_load_or_make(directory)
            password = secrets.token_urlsafe(24).encode()
            agency_key, agency_cert = _agency_make(root_key, root_cert)
            bundle = pkcs12.serialize_key_and_certificates(
                name=b"demo-agency", key=agency_key, cert=agency_cert, cas=[root_cert],
                encryption_algorithm=serialization.BestAvailableEncryption(password))
            # The password first, then the bundle: a bundle present always has its password beside it.
            _write_atomic(password_path, password, mode=0o600)
            _write_atomic(paths.pkcs12, bundle, mode=0o600)
            return DemoCredentials(paths.pkcs12, password, paths.root)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# (directory, the bundle's and password's mtimes) -> (credentials, certificate's start and end): every signature in demo
# mode asks for the credentials, and opening a PKCS#12 bundle costs tens of milliseconds.
_read_cache: dict[tuple, tuple[DemoCredentials, datetime, datetime]] = {}


def _read(directory: Path) -> DemoCredentials | None:
    """The stored credentials, or None when they are unreadable or the certificate is near its end."""
    try:
        stamp = (str(directory), (directory / PKCS12_NAME).stat().st_mtime_ns,
                 (directory / PASSWORD_NAME).stat().st_mtime_ns, (directory / ROOT_NAME).stat().st_mtime_ns)
    except OSError:
        return None
    cached = _read_cache.get(stamp)
    if cached is None:
        try:
            password = (directory / PASSWORD_NAME).read_bytes().strip()
            _key, cert, _cas = pkcs12.load_key_and_certificates((directory / PKCS12_NAME).read_bytes(), password)
        except (OSError, ValueError):
            return None
        if cert is None:
            return None
        cached = (DemoCredentials(directory / PKCS12_NAME, password, directory / ROOT_NAME),
                  cert.not_valid_before_utc, cert.not_valid_after_utc)
        _read_cache[stamp] = cached
    credentials, not_before, not_after = cached
    if not_after - datetime.now(UTC) < AGENCY_RENEW_BEFORE:
        return None
    if not_before > DEMO_VALID_FROM:  # made before DEMO_VALID_FROM was the rule: made again, once
        return None
    return credentials


def _write_atomic(path: Path, data: bytes, *, mode: int) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEMO_ORGANISATION),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "DEMO – chỉ dùng để thử nghiệm"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _root_load_or_make(directory: Path):
    """The root's key stays in root-ca.key (0600) so that a renewed agency certificate chains to the same root."""
    key_path = directory / "root-ca.key"
    cert_path = directory / ROOT_NAME
    if key_path.exists() and cert_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        if cert.not_valid_after_utc - datetime.now(UTC) > AGENCY_LIFETIME and \
                cert.not_valid_before_utc <= DEMO_VALID_FROM:
            return key, cert
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    start, now = _validity_start()
    name = _name(DEMO_ROOT_CN)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(max(now, DEMO_VALID_FROM) + ROOT_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    _write_atomic(key_path, key_pem, mode=0o600)
    _write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return key, cert


def _validity_start() -> tuple[datetime, datetime]:
    """(the demo certificates' start, now): DEMO_VALID_FROM, or a few minutes ago should the clock stand earlier."""
    now = datetime.now(UTC) - timedelta(minutes=5)
    return min(now, DEMO_VALID_FROM), now


def _agency_make(root_key, root_cert: x509.Certificate):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    start, now = _validity_start()
    # The demo's history runs from 2019 to today, and a demo built under its 2019 clock is read today: the agency
    # certificate lasts to the root's lifetime counted from DEMO_VALID_FROM at least (and never past its root).
    end = min(max(now + AGENCY_LIFETIME, DEMO_VALID_FROM + ROOT_LIFETIME), root_cert.not_valid_after_utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(DEMO_AGENCY_CN)).issuer_name(root_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False),
            critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_cert.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    return key, cert
