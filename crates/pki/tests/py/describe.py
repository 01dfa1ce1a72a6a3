#!/usr/bin/env python3
"""Describes certificates and PKCS#10 requests as python's `cryptography` reads them.

Usage: describe.py ITEM...
  cert:PATH[:ISSUER_PATH]   a PEM certificate; with ISSUER_PATH, also checks that the
                            issuer's key signed it (verify_directly_issued_by)
  csr:PATH                  a PEM certificate signing request

Prints one JSON array with an object per item. paycrypt-pki's tests/counterparts.rs compares
these independent readings with its own.
"""

import json
import sys

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtensionOID

KU_BITS = [
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
]


def key_info(public):
    if isinstance(public, rsa.RSAPublicKey):
        return {"type": "rsa", "bits": public.key_size}
    if isinstance(public, ec.EllipticCurvePublicKey):
        return {"type": "ec", "curve": public.curve.name}
    return {"type": type(public).__name__}


def spki_hex(public):
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ).hex()


def ext(cert, oid):
    try:
        return cert.extensions.get_extension_for_oid(oid)
    except x509.ExtensionNotFound:
        return None


def describe_cert(path, issuer_path):
    with open(path, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    n = cert.serial_number
    out = {
        "version": cert.version.value + 1,
        "serial_hex": n.to_bytes(n.bit_length() // 8 + 1, "big").hex().upper(),
        "subject_der": cert.subject.public_bytes().hex(),
        "issuer_der": cert.issuer.public_bytes().hex(),
        "subject": cert.subject.rfc4514_string(),
        "not_before": int(cert.not_valid_before_utc.timestamp()),
        "not_after": int(cert.not_valid_after_utc.timestamp()),
        "signature_oid": cert.signature_algorithm_oid.dotted_string,
        "signature_hash": cert.signature_hash_algorithm.name,
        "key": key_info(cert.public_key()),
        "spki": spki_hex(cert.public_key()),
        "ski_from_key": x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest.hex(),
        "extension_oids": [e.oid.dotted_string for e in cert.extensions],
    }
    bc = ext(cert, ExtensionOID.BASIC_CONSTRAINTS)
    if bc is not None:
        out["basic_constraints"] = {
            "critical": bc.critical,
            "ca": bc.value.ca,
            "path_length": bc.value.path_length,
        }
    ku = ext(cert, ExtensionOID.KEY_USAGE)
    if ku is not None:
        out["key_usage"] = {
            "critical": ku.critical,
            "bits": [b for b in KU_BITS if getattr(ku.value, b)],
        }
    ski = ext(cert, ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    if ski is not None:
        out["ski"] = ski.value.digest.hex()
    aki = ext(cert, ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    if aki is not None:
        out["aki"] = aki.value.key_identifier.hex()
    if issuer_path:
        with open(issuer_path, "rb") as f:
            issuer = x509.load_pem_x509_certificate(f.read())
        try:
            cert.verify_directly_issued_by(issuer)
            out["verified_by_issuer"] = True
        except Exception as e:  # report, the Rust side asserts
            out["verified_by_issuer"] = f"{type(e).__name__}: {e}"
    return out


def describe_csr(path):
    with open(path, "rb") as f:
        csr = x509.load_pem_x509_csr(f.read())
    return {
        "signature_valid": csr.is_signature_valid,
        "subject_der": csr.subject.public_bytes().hex(),
        "subject": csr.subject.rfc4514_string(),
        "signature_oid": csr.signature_algorithm_oid.dotted_string,
        "key": key_info(csr.public_key()),
        "spki": spki_hex(csr.public_key()),
        "attribute_count": len(list(csr.attributes)),
        "extension_count": len(csr.extensions),
    }


def main(items):
    out = []
    for item in items:
        kind, _, rest = item.partition(":")
        if kind == "cert":
            path, _, issuer = rest.partition(":")
            out.append(describe_cert(path, issuer or None))
        elif kind == "csr":
            out.append(describe_csr(rest))
        else:
            sys.exit(f"unknown item {item!r}\n{__doc__}")
    json.dump(out, sys.stdout, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
