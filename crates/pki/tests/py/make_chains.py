#!/usr/bin/env python3
"""Certificate chains made by python's `cryptography` package, for paycrypt-pki's tests.

Usage: make_chains.py OUTDIR

Writes one PEM file per certificate into OUTDIR and a manifest.json listing the cases:
    [{"name", "leaf", "intermediates": [...], "root", "now", "expect", "role"}]
`expect` is "ok" or the name of the ChainError variant paycrypt_pki::validate_chain must
return, and `role` the certificate it must name ("leaf", "intermediate0", "root").

Every certificate is valid from 2024-01-01 to 2034-01-01 and every case is checked at
`now` = 1750000000 (2025-06-15), so recorded output stays usable: the committed copy in
tests/fixtures/python-chains/ was made by this script (see the README there). The live test
also runs it into a temporary directory when python3 with `cryptography` is present.
"""

import datetime
import json
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import NameOID, ObjectIdentifier

NOT_BEFORE = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
NOT_AFTER = datetime.datetime(2034, 1, 1, tzinfo=datetime.timezone.utc)
NOW = 1750000000

CA_USAGE = dict(digital_signature=True, key_cert_sign=True, crl_sign=True)
LEAF_USAGE = dict(digital_signature=True, key_encipherment=True)


def name(cn):
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "paycrypt tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def key_usage(**bits):
    names = [
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    ]
    return x509.KeyUsage(**{n: bits.get(n, False) for n in names})


def rsa_key(bits):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def make(
    subject_cn,
    subject_key,
    issuer_cn,
    issuer_key,
    *,
    ca,
    usage,
    path_len=None,
    digest=hashes.SHA256(),
    pss=False,
    extra=(),
):
    """A certificate for subject_key's public half, signed by issuer_key.

    ca=None leaves BasicConstraints out; usage=None leaves KeyUsage out.
    """
    public = subject_key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(subject_cn))
        .issuer_name(name(issuer_cn))
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    if issuer_key is not subject_key:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    if ca is not None:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=ca, path_length=path_len), critical=True
        )
    if usage is not None:
        builder = builder.add_extension(key_usage(**usage), critical=True)
    for ext, critical in extra:
        builder = builder.add_extension(ext, critical=critical)
    if isinstance(issuer_key, ed25519.Ed25519PrivateKey):
        digest = None
    rsa_padding = None
    if pss:
        rsa_padding = padding.PSS(
            mgf=padding.MGF1(digest), salt_length=padding.PSS.DIGEST_LENGTH
        )
    return builder.sign(issuer_key, digest, rsa_padding=rsa_padding)


def root(cn, key, **kw):
    kw.setdefault("ca", True)
    kw.setdefault("usage", CA_USAGE)
    return make(cn, key, cn, key, **kw)


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    cases = []

    def write(file, cert):
        with open(os.path.join(outdir, file), "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        return file

    def case(name, leaf, intermediates, root_cert, expect="ok", role=None):
        files = [write(f"{name}-leaf.pem", leaf)]
        for i, c in enumerate(intermediates):
            files.append(write(f"{name}-int{i}.pem", c))
        files.append(write(f"{name}-root.pem", root_cert))
        cases.append(
            dict(
                name=name,
                leaf=files[0],
                intermediates=files[1:-1],
                root=files[-1],
                now=NOW,
                expect=expect,
                role=role,
            )
        )

    rsa2048, rsa2048b, rsa2048c = rsa_key(2048), rsa_key(2048), rsa_key(2048)
    rsa3072, rsa4096 = rsa_key(3072), rsa_key(4096)
    p256 = ec.generate_private_key(ec.SECP256R1())
    p384 = ec.generate_private_key(ec.SECP384R1())
    p521 = ec.generate_private_key(ec.SECP521R1())
    edkey = ed25519.Ed25519PrivateKey.generate()

    # Valid paths.
    r = root("RSA Root", rsa4096)
    i = make("RSA Intermediate", rsa3072, "RSA Root", rsa4096, ca=True, usage=CA_USAGE, path_len=0)
    l = make("RSA Leaf", rsa2048, "RSA Intermediate", rsa3072, ca=False, usage=LEAF_USAGE)
    case("rsa-three-level", l, [i], r)

    r = root("RSA SHA-512 Root", rsa4096, digest=hashes.SHA512())
    l = make("RSA SHA-384 Leaf", rsa2048, "RSA SHA-512 Root", rsa4096, ca=False, usage=LEAF_USAGE, digest=hashes.SHA384())
    case("rsa-sha384-sha512", l, [], r)

    r = root("PSS Root", rsa3072, pss=True)
    l = make("PSS Leaf", rsa2048, "PSS Root", rsa3072, ca=False, usage=LEAF_USAGE, pss=True, digest=hashes.SHA256())
    case("rsa-pss", l, [], r)

    r = root("P-384 Root", p384, digest=hashes.SHA384())
    l = make("P-256 Leaf", p256, "P-384 Root", p384, ca=False, usage=dict(digital_signature=True), digest=hashes.SHA384())
    case("ecdsa-p384-p256", l, [], r)

    r = root("P-521 Root", p521, digest=hashes.SHA512())
    l = make("P-384 Leaf", p384, "P-521 Root", p521, ca=False, usage=None, digest=hashes.SHA256())
    case("ecdsa-p521-p384", l, [], r)

    # Broken rules.
    r = root("Root A", rsa4096)
    i = make("Not A CA", rsa3072, "Root A", rsa4096, ca=False, usage=CA_USAGE)
    l = make("Leaf A", rsa2048, "Not A CA", rsa3072, ca=False, usage=LEAF_USAGE)
    case("issuer-ca-false", l, [i], r, "IssuerNotCa", "intermediate0")

    i = make("No Basic Constraints", rsa3072, "Root A", rsa4096, ca=None, usage=CA_USAGE)
    l = make("Leaf B", rsa2048, "No Basic Constraints", rsa3072, ca=False, usage=LEAF_USAGE)
    case("issuer-no-basic-constraints", l, [i], r, "IssuerNotCa", "intermediate0")

    i = make("No keyCertSign", rsa3072, "Root A", rsa4096, ca=True, usage=dict(digital_signature=True))
    l = make("Leaf C", rsa2048, "No keyCertSign", rsa3072, ca=False, usage=LEAF_USAGE)
    case("issuer-no-keycertsign", l, [i], r, "IssuerLacksKeyCertSign", "intermediate0")

    r0 = root("Root Path Zero", rsa4096, path_len=0)
    i = make("Intermediate Below Zero", rsa3072, "Root Path Zero", rsa4096, ca=True, usage=CA_USAGE)
    l = make("Leaf D", rsa2048, "Intermediate Below Zero", rsa3072, ca=False, usage=LEAF_USAGE)
    case("path-length", l, [i], r0, "PathLengthExceeded", "root")

    unknown = x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.55555.1"), b"\x05\x00")
    l = make("Leaf E", rsa2048, "Root A", rsa4096, ca=False, usage=LEAF_USAGE, extra=[(unknown, True)])
    case("unknown-critical-extension", l, [], r, "UnknownCriticalExtension", "leaf")

    l = make("Leaf F", rsa2048, "Root A", rsa4096, ca=False, usage=LEAF_USAGE, extra=[(unknown, False)])
    case("unknown-noncritical-extension", l, [], r)

    l = make("Ed25519 Leaf", edkey, "Root A", rsa4096, ca=False, usage=dict(digital_signature=True))
    case("ed25519-leaf", l, [], r, "UnsupportedKey", "leaf")

    r2 = root("RSA-2048 Root", rsa2048b)
    l = make("P-256 Leaf Too Strong", p256, "RSA-2048 Root", rsa2048b, ca=False, usage=dict(digital_signature=True))
    case("ec-leaf-stronger", l, [], r2, "StrongerThanIssuer", "leaf")

    l = make("Leaf G", rsa2048, "RSA-2048 Root", rsa2048c, ca=False, usage=LEAF_USAGE)
    case("signed-by-other-key", l, [], r2, "BadSignature", "leaf")

    cross = make("Cross Root", rsa3072, "Someone Else", rsa4096, ca=True, usage=CA_USAGE)
    l = make("Leaf H", rsa2048, "Cross Root", rsa3072, ca=False, usage=LEAF_USAGE)
    case("root-not-self-signed", l, [], cross, "RootNotSelfSigned", "root")

    r3 = root("Root Not CA", rsa3072, ca=False, usage=LEAF_USAGE)
    l = make("Leaf I", rsa2048, "Root Not CA", rsa3072, ca=False, usage=LEAF_USAGE)
    case("root-not-ca", l, [], r3, "IssuerNotCa", "root")

    ed_root = root("Ed25519 Root", edkey)
    case("ed25519-root", make("Leaf J", rsa2048, "Ed25519 Root", edkey, ca=False, usage=LEAF_USAGE), [], ed_root, "RootNotSelfSigned", "root")

    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
