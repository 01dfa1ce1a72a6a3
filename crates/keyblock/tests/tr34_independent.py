#!/usr/bin/env python3
"""An independent TR-34 implementation (AWS Payment Cryptography layout) for cross-checking
the Rust crate. Written from shared/reference/tr34-aws-layout.md with its own DER code; it
uses python `cryptography` only for RSA, TDES, AES, CMAC, SHA-256 and certificate parsing.

Reads a JSON list of requests on stdin and writes one JSON object per line on stdout, one
per request, in order:

  {"op": "open", "block", "krd_cert", "krd_key", "kdh_cert", "nonce" (hex or null), "kcv"}
      performs the receiving party's checks 1 to 7 and answers {"header", "key", "kcv"},
      or {"failed": "<check>"} when a check fails.
  {"op": "build", "key", "header", "kdh_cert", "kdh_key", "krd_cert", "cipher" ("TDES" or
   "AES"), "nonce" (hex or null), "signing_time" ("YYMMDDhhmmssZ", used when nonce is null)}
      answers {"block"}.

All binary values are hex. Certificates and keys are DER (keys PKCS#8).
"""

import hashlib
import json
import os
import sys

from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import cmac, hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# --- DER ---------------------------------------------------------------------------


def read_tlv(data, pos):
    """Returns (tag, value_start, value_end, end) of the TLV at pos (definite lengths)."""
    tag = data[pos]
    first = data[pos + 1]
    if first < 0x80:
        length, start = first, pos + 2
    else:
        n = first & 0x7F
        length = int.from_bytes(data[pos + 2 : pos + 2 + n], "big")
        start = pos + 2 + n
    end = start + length
    if end > len(data):
        raise ValueError("truncated DER")
    return tag, start, end, end


def children(data, start, end):
    """All TLVs between start and end as (tag, value bytes, raw bytes)."""
    out = []
    pos = start
    while pos < end:
        tag, vs, ve, nxt = read_tlv(data, pos)
        out.append((tag, data[vs:ve], data[pos:nxt]))
        pos = nxt
    if pos != end:
        raise ValueError("DER overrun")
    return out


def items(raw_value):
    return children(raw_value, 0, len(raw_value))


def length(n):
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag, *parts):
    content = b"".join(parts)
    return bytes([tag]) + length(len(content)) + content


def oid(dotted):
    arcs = [int(a) for a in dotted.split(".")]
    body = bytes([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        enc = [arc & 0x7F]
        arc >>= 7
        while arc:
            enc.insert(0, 0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(enc)
    return tlv(0x06, body)


SEQ, SET, INT, OCTETS, NULL, UTC = 0x30, 0x31, 0x02, 0x04, 0x05, 0x17
DATA = oid("1.2.840.113549.1.7.1")
SIGNED_DATA = oid("1.2.840.113549.1.7.2")
ENVELOPED_DATA = oid("1.2.840.113549.1.7.3")
SHA256 = oid("2.16.840.1.101.3.4.2.1")
RSA = oid("1.2.840.113549.1.1.1")
OAEP = oid("1.2.840.113549.1.1.7")
MGF1 = oid("1.2.840.113549.1.1.8")
PSPECIFIED = oid("1.2.840.113549.1.1.9")
CONTENT_TYPE = oid("1.2.840.113549.1.9.3")
MESSAGE_DIGEST = oid("1.2.840.113549.1.9.4")
SIGNING_TIME = oid("1.2.840.113549.1.9.5")
RANDOM_NONCE = oid("1.2.840.113549.1.9.25.3")
DES_EDE3_CBC = oid("1.2.840.113549.3.7")
AES128_CBC = oid("2.16.840.1.101.3.4.1.2")

# --- certificates and keys ------------------------------------------------------------


def issuer_and_serial(cert_der):
    """IssuerAndSerialNumber from the certificate's own TBS bytes (no re-encoding)."""
    (cert,) = items(cert_der)
    tbs = items(cert[1])[0]
    fields = items(tbs[1])
    if fields[0][0] == 0xA0:  # [0] version
        fields = fields[1:]
    serial, issuer = fields[0], fields[2]
    return tlv(SEQ, issuer[2], serial[2])


def load_cert(cert_hex):
    der = bytes.fromhex(cert_hex)
    return der, x509.load_der_x509_certificate(der).public_key()


def load_key(key_hex):
    return serialization.load_der_private_key(bytes.fromhex(key_hex), password=None)


OAEP_PAD = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def cbc(cipher_oid, key, iv, data, encrypt):
    if cipher_oid == DES_EDE3_CBC:
        algo = TripleDES(key if len(key) == 24 else key + key[:8])
    elif cipher_oid == AES128_CBC:
        algo = algorithms.AES(key)
    else:
        raise ValueError("unknown content cipher")
    c = Cipher(algo, modes.CBC(iv))
    op = c.encryptor() if encrypt else c.decryptor()
    return op.update(data) + op.finalize()


def kcv(header, key):
    """Check 7: ANSI X9.24 KCV for TDES keys, AES-CMAC KCV for AES keys (header position 8)."""
    if header[7] == "T":
        c = Cipher(TripleDES(key if len(key) == 24 else key + key[:8]), modes.ECB()).encryptor()
        return (c.update(bytes(8)) + c.finalize())[:3]
    mac = cmac.CMAC(algorithms.AES(key))
    mac.update(bytes(16))
    return mac.finalize()[:3]


class CheckFailed(Exception):
    pass


def require(ok, check):
    if not ok:
        raise CheckFailed(check)


# --- open (KRD) -----------------------------------------------------------------------


def open_block(req):
    block = bytes.fromhex(req["block"])
    kdh_der, kdh_pub = load_cert(req["kdh_cert"])
    krd_der, _ = load_cert(req["krd_cert"])
    krd_key = load_key(req["krd_key"])

    (content_info,) = items(block)
    ci = items(content_info[1])
    assert ci[0][2] == SIGNED_DATA
    (signed_data,) = items(ci[1][1])
    sd = items(signed_data[1])
    version, digest_algs, encap, signer_infos = sd
    assert version[2] == tlv(INT, b"\x01")
    assert items(items(digest_algs[1])[0][1])[0][2] == SHA256
    encap_items = items(encap[1])
    assert encap_items[0][2] == ENVELOPED_DATA
    (env_octets,) = items(encap_items[1][1])
    env = env_octets[1]

    (signer_info,) = items(signer_infos[1])
    si = items(signer_info[1])
    sid, signed_attrs, signature = si[1][2], si[3], si[5][1]
    assert signed_attrs[0] == 0xA0

    attrs = {}
    for attr in items(signed_attrs[1]):
        a_type, a_values = items(attr[1])
        (value,) = items(a_values[1])
        attrs[a_type[2]] = value
    assert attrs[CONTENT_TYPE][2] == ENVELOPED_DATA
    header = attrs[DATA][1]

    # 1. signature over the attributes as received, [0] re-tagged as SET
    to_verify = bytes([SET]) + signed_attrs[2][1:]
    try:
        kdh_pub.verify(signature, to_verify, padding.PKCS1v15(), hashes.SHA256())
        sig_ok = True
    except Exception:
        sig_ok = False
    require(sig_ok, "signature")
    # 2. signer identity
    require(sid == issuer_and_serial(kdh_der), "signer identity")
    # 3. message digest over ENV
    require(attrs[MESSAGE_DIGEST][1] == hashlib.sha256(env).digest(), "message digest")
    # 4. nonce
    if req["nonce"] is None:
        require(RANDOM_NONCE not in attrs and SIGNING_TIME in attrs, "nonce")
    else:
        require(
            RANDOM_NONCE in attrs and attrs[RANDOM_NONCE][1] == bytes.fromhex(req["nonce"]),
            "nonce",
        )

    # ENV = INTEGER 0 | SET { RecipientInfo } | EncryptedContentInfo
    env_version, recipients, eci = items(env)
    assert env_version[2] == tlv(INT, b"\x00")
    (recipient,) = items(recipients[1])
    ri = items(recipient[1])
    # 5. recipient identity
    require(ri[1][2] == issuer_and_serial(krd_der), "recipient identity")
    expected_alg = tlv(
        SEQ,
        OAEP,
        tlv(
            SEQ,
            tlv(SEQ, SHA256, tlv(NULL)),
            tlv(SEQ, MGF1, tlv(SEQ, SHA256)),
            tlv(SEQ, PSPECIFIED, tlv(OCTETS)),
        ),
    )
    assert ri[2][2] == expected_alg, "OAEP parameters"
    content_key = krd_key.decrypt(ri[3][1], OAEP_PAD)

    eci_type, content_alg = items(eci[1])
    assert eci_type[2] == DATA
    cipher_oid, iv, ciphertext = items(content_alg[1])
    assert ciphertext[0] == 0x80
    plain = cbc(cipher_oid[2], content_key, iv[1], ciphertext[1], encrypt=False)
    # Lenient unpadding: strip only valid PKCS#7 padding.
    n = plain[-1]
    block_len = len(iv[1])
    if 1 <= n <= block_len and plain[-n:] == bytes([n]) * n:
        plain = plain[:-n]
    (inner,) = items(plain)
    inner_version, inner_kdh, inner_key, inner_header = items(inner[1])
    assert inner_version[2] == tlv(INT, b"\x01")
    # 6. inner identity and header equal the outer ones
    require(inner_kdh[2] == sid, "inner identity")
    h_type, h_set = items(inner_header[1])
    assert h_type[2] == DATA
    require(items(h_set[1])[0][1] == header, "inner header")
    key = inner_key[1]
    # 7. key check value
    text = header.decode("ascii")
    require(kcv(text, key).hex().upper() == req["kcv"].upper(), "kcv")
    return {"header": text, "key": key.hex().upper(), "kcv": kcv(text, key).hex().upper()}


# --- build (KDH) ----------------------------------------------------------------------


def build_block(req):
    key = bytes.fromhex(req["key"])
    header = req["header"].encode("ascii")
    kdh_der, _ = load_cert(req["kdh_cert"])
    krd_der, krd_pub = load_cert(req["krd_cert"])
    kdh_key = load_key(req["kdh_key"])
    kdh_id = issuer_and_serial(kdh_der)

    if req["cipher"] == "TDES":
        cipher_oid, content_key, iv = DES_EDE3_CBC, os.urandom(24), os.urandom(8)
    else:
        cipher_oid, content_key, iv = AES128_CBC, os.urandom(16), os.urandom(16)
    plain = tlv(
        SEQ,
        tlv(INT, b"\x01"),
        kdh_id,
        tlv(OCTETS, key),
        tlv(SEQ, DATA, tlv(SET, tlv(OCTETS, header))),
    )
    pad = len(iv) - len(plain) % len(iv)
    plain += bytes([pad]) * pad
    ciphertext = cbc(cipher_oid, content_key, iv, plain, encrypt=True)

    recipient = tlv(
        SEQ,
        tlv(INT, b"\x00"),
        issuer_and_serial(krd_der),
        tlv(
            SEQ,
            OAEP,
            tlv(
                SEQ,
                tlv(SEQ, SHA256, tlv(NULL)),
                tlv(SEQ, MGF1, tlv(SEQ, SHA256)),
                tlv(SEQ, PSPECIFIED, tlv(OCTETS)),
            ),
        ),
        tlv(OCTETS, krd_pub.encrypt(content_key, OAEP_PAD)),
    )
    eci = tlv(SEQ, DATA, tlv(SEQ, cipher_oid, tlv(OCTETS, iv), tlv(0x80, ciphertext)))
    env = tlv(INT, b"\x00") + tlv(SET, recipient) + eci

    def attribute(attr_oid, value):
        return tlv(SEQ, attr_oid, tlv(SET, value))

    if req["nonce"] is not None:
        fresh = attribute(RANDOM_NONCE, tlv(OCTETS, bytes.fromhex(req["nonce"])))
    else:
        fresh = attribute(SIGNING_TIME, tlv(UTC, req["signing_time"].encode("ascii")))
    attrs = (
        attribute(CONTENT_TYPE, ENVELOPED_DATA)
        + fresh
        + attribute(DATA, tlv(OCTETS, header))
        + attribute(MESSAGE_DIGEST, tlv(OCTETS, hashlib.sha256(env).digest()))
    )
    signature = kdh_key.sign(tlv(SET, attrs), padding.PKCS1v15(), hashes.SHA256())
    sha256_alg = tlv(SEQ, SHA256)
    signer_info = tlv(
        SEQ,
        tlv(INT, b"\x01"),
        kdh_id,
        sha256_alg,
        tlv(0xA0, attrs),
        tlv(SEQ, RSA, tlv(NULL)),
        tlv(OCTETS, signature),
    )
    signed_data = tlv(
        SEQ,
        tlv(INT, b"\x01"),
        tlv(SET, sha256_alg),
        tlv(SEQ, ENVELOPED_DATA, tlv(0xA0, tlv(OCTETS, env))),
        tlv(SET, signer_info),
    )
    block = tlv(SEQ, SIGNED_DATA, tlv(0xA0, signed_data))
    return {"block": block.hex().upper()}


def main():
    for req in json.load(sys.stdin):
        try:
            out = open_block(req) if req["op"] == "open" else build_block(req)
        except CheckFailed as failed:
            out = {"failed": str(failed)}
        print(json.dumps(out))


if __name__ == "__main__":
    main()
