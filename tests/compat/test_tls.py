"""HTTPS and the plain-HTTP guard of `paycrypt serve`.

* With `--tls-cert`/`--tls-key` (a CA and a server certificate for 127.0.0.1 and localhost made
  here with pyca cryptography), boto3 verifies the server against the CA file and works; a client
  trusting another CA fails the handshake; the listening line says https.
* Half a TLS setting, unreadable or wrong certificate and key files stop the start-up with a
  clear message and no panic.
* Without TLS, a non-loopback address is refused (exit non-zero, saying why and how to proceed)
  unless `--allow-plaintext` is given.
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import ssl
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import botocore.exceptions
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conftest import make_client, run_paycrypt, tdes_key


@dataclass
class Pki:
    ca: Path  # the CA certificate the clients trust
    other_ca: Path  # a CA that did not issue the server certificate
    cert: Path  # server certificate, then the CA (a chain)
    key: Path  # the server certificate's private key (PKCS#8)
    other_key: Path  # a private key that belongs to no certificate here


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _certificate(subject: str, issuer: str, public_key, signing_key, extensions) -> x509.Certificate:
    """A certificate valid from 5 minutes ago for a day; `extensions` are (extension, critical)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = x509.CertificateBuilder(
        issuer_name=_name(issuer),
        subject_name=_name(subject),
        public_key=public_key,
        serial_number=x509.random_serial_number(),
        not_valid_before=now - datetime.timedelta(minutes=5),
        not_valid_after=now + datetime.timedelta(days=1),
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(signing_key, hashes.SHA256())


def _ca(cn: str):
    key = ec.generate_private_key(ec.SECP256R1())
    usage = x509.KeyUsage(
        digital_signature=False, content_commitment=False, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
    )
    extensions = [(x509.BasicConstraints(ca=True, path_length=0), True), (usage, True)]
    return key, _certificate(cn, cn, key.public_key(), key, extensions)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    out = tmp_path_factory.mktemp("tls")
    ca_key, ca_cert = _ca("paycrypt test CA")
    _, other_ca_cert = _ca("some other CA")
    server_key = ec.generate_private_key(ec.SECP256R1())
    names = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    server_cert = _certificate(
        "localhost",
        "paycrypt test CA",
        server_key.public_key(),
        ca_key,
        [
            (names, False),
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
        ],
    )
    pem = serialization.Encoding.PEM
    pki = Pki(
        ca=out / "ca.pem",
        other_ca=out / "other-ca.pem",
        cert=out / "server.pem",
        key=out / "server.key",
        other_key=out / "other.key",
    )
    pki.ca.write_bytes(ca_cert.public_bytes(pem))
    pki.other_ca.write_bytes(other_ca_cert.public_bytes(pem))
    pki.cert.write_bytes(server_cert.public_bytes(pem) + ca_cert.public_bytes(pem))
    pki.key.write_bytes(_pem_key(server_key))
    pki.other_key.write_bytes(_pem_key(ec.generate_private_key(ec.SECP256R1())))
    return pki


def tls_args(pki: Pki) -> list[str]:
    return ["--tls-cert", str(pki.cert), "--tls-key", str(pki.key)]


def with_host(endpoint: str, host: str) -> str:
    url = urllib.parse.urlsplit(endpoint)
    return f"{url.scheme}://{host}:{url.port}"


# --------------------------------------------------------------------------------------------
# HTTPS
# --------------------------------------------------------------------------------------------


def test_boto3_over_https_verifies_the_server_certificate(server_factory, pki):
    server = server_factory(extra_args=tls_args(pki))
    assert server.endpoint.startswith("https://127.0.0.1:"), server.endpoint

    client = make_client(server.endpoint, verify=str(pki.ca))
    key = tdes_key(client)
    assert client.get_key(KeyIdentifier=key["KeyArn"])["Key"]["KeyArn"] == key["KeyArn"]
    # the certificate names localhost too
    by_name = make_client(with_host(server.endpoint, "localhost"), verify=str(pki.ca))
    assert [k["KeyArn"] for k in by_name.list_keys()["Keys"]] == [key["KeyArn"]]

    # a client that trusts another CA refuses the server: verification really happens
    stranger = make_client(server.endpoint, verify=str(pki.other_ca))
    with pytest.raises(botocore.exceptions.SSLError):
        stranger.list_keys()
    # and so does one that trusts only the system store
    system = make_client(server.endpoint)
    with pytest.raises(botocore.exceptions.SSLError):
        system.list_keys()
    # plain HTTP on the HTTPS port gets no answer
    plain = make_client(with_host(server.endpoint, "127.0.0.1").replace("https://", "http://"))
    with pytest.raises(botocore.exceptions.BotoCoreError):
        plain.list_keys()

    # the server is still healthy after the failed handshakes
    assert client.list_keys()["Keys"]


def test_tls_from_the_config_file_and_on_any_address(server_factory, pki):
    """The config keys `tls_cert`/`tls_key`; with TLS a non-loopback address needs no flag."""
    config = f'tls_cert = "{pki.cert}"\ntls_key = "{pki.key}"\n'
    server = server_factory(config=config, listen="0.0.0.0:0")
    assert server.endpoint.startswith("https://0.0.0.0:"), server.endpoint
    client = make_client(with_host(server.endpoint, "127.0.0.1"), verify=str(pki.ca))
    assert client.list_keys()["Keys"] == []


def assert_startup_error(proc, *needles: str) -> str:
    assert proc.returncode != 0, proc.stdout
    assert "listening" not in proc.stdout
    assert "panicked" not in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr
    return proc.stderr


def serve(tmp_path: Path, *args: str, env: dict[str, str] | None = None):
    return run_paycrypt(
        "serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "data"), *args, env=env
    )


def test_half_a_tls_setting_is_a_startup_error(tmp_path, pki):
    assert_startup_error(serve(tmp_path, "--tls-cert", str(pki.cert)), "--tls-cert needs --tls-key")
    assert_startup_error(
        serve(tmp_path, env={"PAYCRYPT_TLS_KEY": str(pki.key)}), "--tls-key needs --tls-cert"
    )


def test_bad_certificate_or_key_files_are_startup_errors(tmp_path, pki):
    missing = tmp_path / "missing.pem"
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    assert_startup_error(
        serve(tmp_path, "--tls-cert", str(missing), "--tls-key", str(pki.key)), f"cannot read {missing}"
    )
    assert_startup_error(
        serve(tmp_path, "--tls-cert", str(garbage), "--tls-key", str(pki.key)),
        f"{garbage} holds no PEM certificate",
    )
    # the certificate given as the key
    assert_startup_error(
        serve(tmp_path, "--tls-cert", str(pki.cert), "--tls-key", str(pki.cert)),
        f"{pki.cert} holds no PEM private key",
    )
    # a key that does not belong to the certificate
    assert_startup_error(
        serve(tmp_path, "--tls-cert", str(pki.cert), "--tls-key", str(pki.other_key)),
        "cannot serve TLS",
    )
    # the same through the environment
    assert_startup_error(
        serve(tmp_path, env={"PAYCRYPT_TLS_CERT": str(garbage), "PAYCRYPT_TLS_KEY": str(pki.key)}),
        "holds no PEM certificate",
    )


# --------------------------------------------------------------------------------------------
# Plain HTTP only on loopback unless allowed
# --------------------------------------------------------------------------------------------


def test_plain_http_on_a_public_address_is_refused(tmp_path):
    data_dir = tmp_path / "data"
    proc = run_paycrypt("serve", "--listen", "0.0.0.0:0", "--data-dir", str(data_dir))
    message = assert_startup_error(
        proc,
        "refusing to serve plain HTTP on 0.0.0.0:",
        "not a loopback address",
        "in the clear",
        "--tls-cert",
        "--allow-plaintext",
    )
    assert "\n" not in message.strip(), message
    # refused before anything was created
    assert not data_dir.exists()


def test_plain_http_on_a_public_address_with_allow_plaintext(server_factory):
    server = server_factory(listen="0.0.0.0:0", extra_args=["--allow-plaintext"])
    assert server.endpoint.startswith("http://0.0.0.0:"), server.endpoint
    client = make_client(with_host(server.endpoint, "127.0.0.1"))
    assert client.list_keys()["Keys"] == []


@pytest.mark.parametrize("listen", ["127.0.0.2:0", "localhost:0"])
def test_plain_http_on_loopback_needs_no_flag(server_factory, listen):
    server = server_factory(listen=listen)
    assert server.endpoint.startswith("http://"), server.endpoint
    assert make_client(server.endpoint).list_keys()["Keys"] == []


def test_console_cookies_are_secure_under_tls(server_factory, pki):
    server = server_factory(extra_args=tls_args(pki))
    url = urllib.parse.urlsplit(server.endpoint)
    conn = http.client.HTTPSConnection(url.hostname, url.port, context=ssl.create_default_context(cafile=str(pki.ca)))
    conn.request("GET", "/console/signin")
    response = conn.getresponse()
    response.read()
    assert response.status == 200
    cookie = response.getheader("set-cookie")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and cookie.endswith("; Secure"), cookie
