"""A test PKI made in the test run: a local CA (root, signer and TSA certificates), a SoftHSM2 token holding the
signer's key, a local RFC 3161 timestamp server over HTTP, and an NSS database for poppler's pdfsig.

Everything lives under a directory the caller gives (tmp_path_factory), on free ports: two pytest-xdist processes
never share anything.
"""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test PKI of the sttt-cases suite"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _key_usage(*, sign: bool = False, ca: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=sign, content_commitment=sign, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                         encipher_only=False, decipher_only=False)


@dataclass
class Issued:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    def pkcs12(self, password: bytes, chain: list[x509.Certificate]) -> bytes:
        return pkcs12.serialize_key_and_certificates(
            name=b"signer", key=self.key, cert=self.cert, cas=chain,
            encryption_algorithm=serialization.BestAvailableEncryption(password))

    def asn1_cert(self) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(self.cert.public_bytes(serialization.Encoding.DER))

    def asn1_key(self) -> asn1_keys.PrivateKeyInfo:
        return asn1_keys.PrivateKeyInfo.load(self.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


class TestCA:
    """A root CA that issues end-entity certificates (document signing or timestamping)."""

    __test__ = False  # not a pytest class

    def __init__(self, directory: Path, common_name: str = "Test Root CA"):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.now(UTC) - timedelta(minutes=5)
        self.cert = (
            x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(_name(common_name))
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_key_usage(ca=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256()))
        self.root_pem = directory / "root.pem"
        self.root_pem.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, common_name: str, *, timestamping: bool = False) -> Issued:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.now(UTC) - timedelta(minutes=5)
        builder = (
            x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(self.cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + timedelta(days=90))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                           critical=False))
        if timestamping:
            builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        return Issued(key, builder.sign(self.key, hashes.SHA256()))


class SoftHsmToken:
    """A SoftHSM2 token in its own directory, holding one key and its certificate under `label`.

    SoftHSM2 reads SOFTHSM2_CONF when the module is first initialised in a process, so the caller sets it in
    os.environ (SoftHsmToken.environ) before anything loads the module."""

    def __init__(self, directory: Path, *, token_label: str, pin: str, key_label: str, issued: Issued):
        self.directory = directory
        self.token_label, self.pin, self.key_label = token_label, pin, key_label
        tokens = directory / "tokens"
        tokens.mkdir(parents=True)
        self.conf = directory / "softhsm2.conf"
        self.conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
        env = {**os.environ, "SOFTHSM2_CONF": str(self.conf)}
        run = lambda *args: subprocess.run(args, env=env, check=True, capture_output=True, timeout=60)  # noqa: E731
        run("softhsm2-util", "--init-token", "--free", "--label", token_label, "--pin", pin, "--so-pin", pin + "so")
        key_pem = directory / "key.pem"
        key_pem.write_bytes(issued.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()))
        run("softhsm2-util", "--import", str(key_pem), "--token", token_label, "--label", key_label, "--id", "01",
            "--pin", pin)
        key_pem.unlink()
        cert_der = directory / "cert.der"
        cert_der.write_bytes(issued.cert.public_bytes(serialization.Encoding.DER))
        run("pkcs11-tool", "--module", SOFTHSM_MODULE, "--token-label", token_label, "--login", "--pin", pin,
            "--write-object", str(cert_der), "--type", "cert", "--id", "01", "--label", key_label)


class TimestampServer:
    """An RFC 3161 server over HTTP on a free port, answering with pyHanko's DummyTimeStamper (the TSA's own
    certificate signs each token). `stop()` closes the port: requests then fail to connect."""

    def __init__(self, tsa: Issued, chain: list[x509.Certificate]):
        from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

        stamper = DummyTimeStamper(
            tsa_cert=tsa.asn1_cert(), tsa_key=tsa.asn1_key(),
            certs_to_embed=[asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in chain])
        self.requests = 0
        server_self = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Type") != "application/timestamp-query":
                    self.send_error(415)
                    return
                response = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
                server_self.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(response)))
                self.end_headers()
                self.wfile.write(response)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tsa"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def nss_db(directory: Path, root_pem: Path) -> Path:
    """An NSS database trusting `root_pem` for signing, for `pdfsig -nssdir`."""
    directory.mkdir(parents=True)
    subprocess.run(["certutil", "-N", "--empty-password", "-d", f"sql:{directory}"], check=True,
                   capture_output=True, timeout=60)
    subprocess.run(["certutil", "-A", "-n", "sttt-test-root", "-t", "CT,C,C", "-i", str(root_pem),
                    "-d", f"sql:{directory}"], check=True, capture_output=True, timeout=60)
    return directory


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
