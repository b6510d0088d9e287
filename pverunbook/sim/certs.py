"""Real X.509 material for the rehearsal nodes, shaped like what ``pvecm updatecerts`` writes.

Real PEM bytes (not placeholders) so ``openssl x509`` output, fingerprints and a changed cert
after ``--force`` all behave as on a node. Keys are cached per process: RSA generation is the
slowest part of building a scenario and tests build many.
"""

from __future__ import annotations

import datetime as dt
import uuid

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

_KEYS: list[bytes] = []


def rsa_key_pem(index: int | None = None) -> bytes:
    """An RSA 2048 private key (PEM); ``index`` reuses a cached key, None makes a fresh one."""
    if index is not None and index < len(_KEYS):
        return _KEYS[index]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM,
                            serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    if index is not None:
        while len(_KEYS) < index:
            _KEYS.append(rsa_key_pem(None))
        _KEYS.append(pem)
    return pem


def public_pem(key_pem: bytes) -> bytes:
    key = serialization.load_pem_private_key(key_pem, password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def make_ca(key_pem: bytes, now: float) -> bytes:
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, "Proxmox Virtual Environment"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, str(uuid.uuid4())),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "PVE Cluster Manager CA"),
    ])
    start = dt.datetime.fromtimestamp(now, dt.UTC) - dt.timedelta(days=700)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def make_node_cert(ca_key_pem: bytes, ca_pem: bytes, node_key_pem: bytes, node: str, ip: str,
                   now: float, serial: int) -> bytes:
    """Node cert as pve-cluster issues it: 2 years (capped by the CA), SANs for the node."""
    ca_key = serialization.load_pem_private_key(ca_key_pem, password=None)
    assert isinstance(ca_key, rsa.RSAPrivateKey)
    ca = x509.load_pem_x509_certificate(ca_pem)
    node_key = serialization.load_pem_private_key(node_key_pem, password=None)
    assert isinstance(node_key, rsa.RSAPrivateKey)
    subject = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "PVE Cluster Node"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Proxmox Virtual Environment"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"{node}.lan"),
    ])
    start = dt.datetime.fromtimestamp(now, dt.UTC)
    end = min(start + dt.timedelta(days=730), ca.not_valid_after_utc - dt.timedelta(days=2))
    import ipaddress

    sans: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
        x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(ip)),
        x509.DNSName(node), x509.DNSName(f"{node}.lan"),
    ]
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca.subject)
            .public_key(node_key.public_key()).serial_number(serial)
            .not_valid_before(start - dt.timedelta(minutes=1)).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def _openssl_name(name: x509.Name) -> str:
    short = {NameOID.COMMON_NAME: "CN", NameOID.ORGANIZATION_NAME: "O",
             NameOID.ORGANIZATIONAL_UNIT_NAME: "OU", NameOID.COUNTRY_NAME: "C"}
    parts = []
    for attr in name:
        parts.append(f"{short.get(attr.oid, attr.oid.dotted_string)} = {attr.value!s}")
    return ", ".join(parts)


def _date(d: dt.datetime) -> str:
    return d.strftime("%b %e %H:%M:%S %Y GMT")


def cert_public_pem(pem: bytes) -> bytes:
    """``openssl x509 -noout -pubkey``: the certificate's public key (SubjectPublicKeyInfo)."""
    return x509.load_pem_x509_certificate(pem).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_matches(cert_pem: bytes, key_pem: bytes) -> bool:
    """Whether ``key_pem`` is the private key of ``cert_pem`` (False if either is unreadable).
    A TLS server given a certificate and a key that do not match (AnyEvent::TLS, as pveproxy
    uses it) starts, but every handshake fails with "no shared cipher"."""
    try:
        return cert_public_pem(cert_pem) == public_pem(key_pem)
    except ValueError:
        return False


def x509_fields(pem: bytes) -> dict[str, str]:
    """What ``openssl x509 -noout -subject -issuer -dates -serial -fingerprint`` would print."""
    cert = x509.load_pem_x509_certificate(pem)
    fp = cert.fingerprint(hashes.SHA256()).hex().upper()
    return {
        "subject": f"subject={_openssl_name(cert.subject)}",
        "issuer": f"issuer={_openssl_name(cert.issuer)}",
        "startdate": f"notBefore={_date(cert.not_valid_before_utc)}",
        "enddate": f"notAfter={_date(cert.not_valid_after_utc)}",
        "serial": f"serial={cert.serial_number:X}",
        "fingerprint": "sha256 Fingerprint=" + ":".join(fp[i:i + 2] for i in range(0, len(fp), 2)),
        "_expires": str(cert.not_valid_after_utc.timestamp()),
    }


def verify_problem(pem: bytes, ca_pem: bytes | None, now: float) -> str | None:
    """Why ``openssl verify -CAfile ca_pem`` rejects ``pem`` (its error lines), None if it
    accepts it. openssl apps/verify.c prints the subject, then ``error N at 0 depth lookup:
    <reason>``; codes from x509_vfy.h: 20 unable to get local issuer certificate, 7
    certificate signature failure, 10 certificate has expired, 9 not yet valid."""
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        return "unable to load certificate"
    subject = _openssl_name(cert.subject)
    try:
        ca = x509.load_pem_x509_certificate(ca_pem) if ca_pem else None
    except ValueError:
        ca = None
    if ca is None or ca.subject != cert.issuer:
        return f"{subject}\nerror 20 at 0 depth lookup: unable to get local issuer certificate"
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return f"{subject}\nerror 7 at 0 depth lookup: certificate signature failure"
    at = dt.datetime.fromtimestamp(now, dt.UTC)
    for c, depth in ((ca, 1), (cert, 0)):
        if c.not_valid_after_utc < at:
            return f"{subject}\nerror 10 at {depth} depth lookup: certificate has expired"
        if c.not_valid_before_utc > at:
            return f"{subject}\nerror 9 at {depth} depth lookup: certificate is not yet valid"
    return None
