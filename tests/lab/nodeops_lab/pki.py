"""Lab PKI: a throw-away certificate authority for the simulated cluster.

The CA (``CN=nodeops-lab-ca``) is created once in ``pki_dir`` and reused on
later runs, so certificates issued by earlier runs stay valid. Keys are written
with mode 0600. This is test tooling only; nothing here is meant for real use.
"""

import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_COMMON_NAME = "nodeops-lab-ca"
CA_CRT = "ca.crt"
CA_KEY = "ca.key"


def _write_private(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.chmod(path, 0o600)


def _write_public(path, data):
    with open(path, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o644)


def _new_key():
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def load_ca(pki_dir):
    """Return ``(certificate, private_key)`` of the lab CA (it must exist)."""
    with open(os.path.join(pki_dir, CA_CRT), "rb") as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    with open(os.path.join(pki_dir, CA_KEY), "rb") as handle:
        key = serialization.load_pem_private_key(handle.read(), password=None)
    return cert, key


def ensure_ca(pki_dir):
    """Create the lab CA in ``pki_dir`` unless it exists; return (crt_path, key_path)."""
    os.makedirs(pki_dir, exist_ok=True)
    crt_path = os.path.join(pki_dir, CA_CRT)
    key_path = os.path.join(pki_dir, CA_KEY)
    if os.path.exists(crt_path) and os.path.exists(key_path):
        return crt_path, key_path
    key = _new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_COMMON_NAME)])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, _key_pem(key))
    _write_public(crt_path, cert.public_bytes(serialization.Encoding.PEM))
    return crt_path, key_path


def sign_public_key(pki_dir, public_key, common_name, organizations=(), dns_names=(),
                    ip_addresses=(), server=False, client=False, days=365):
    """Sign ``public_key`` with the lab CA and return the certificate object."""
    ensure_ca(pki_dir)
    ca_cert, ca_key = load_ca(pki_dir)
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    now = _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attrs))
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=True,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    usages = []
    if server:
        usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
    if client:
        usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    sans = [x509.DNSName(name) for name in dns_names]
    sans += [x509.IPAddress(ipaddress.ip_address(str(ip))) for ip in ip_addresses]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def issue_cert(pki_dir, basename, common_name, organizations=(), dns_names=(),
               ip_addresses=(), server=False, client=False, days=365):
    """Issue a key pair and certificate signed by the lab CA.

    Writes ``<pki_dir>/<basename>.crt`` and ``<pki_dir>/<basename>.key`` (0600)
    and returns ``(crt_path, key_path)``. ``organizations`` become O= entries
    (Kubernetes reads them as groups), ``common_name`` the user name.
    """
    ensure_ca(pki_dir)
    key = _new_key()
    cert = sign_public_key(
        pki_dir, key.public_key(), common_name, organizations=organizations,
        dns_names=dns_names, ip_addresses=ip_addresses, server=server, client=client, days=days,
    )
    crt_path = os.path.join(pki_dir, basename + ".crt")
    key_path = os.path.join(pki_dir, basename + ".key")
    _write_private(key_path, _key_pem(key))
    _write_public(crt_path, cert.public_bytes(serialization.Encoding.PEM))
    return crt_path, key_path
