"""The wire protocol with raw HTTP: SigV4 failures (signed by botocore's SigV4Auth, then tampered),
routing, serialization and validation errors, and the headers every response carries."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest

from conftest import (
    DEFAULT_ACCOUNT,
    REGION,
    TARGET_PREFIX,
    RawResponse,
    call_raw,
    make_client,
    send_raw,
    sign,
)

K0_ATTRIBUTES = {
    "KeyUsage": "TR31_K0_KEY_ENCRYPTION_KEY",
    "KeyAlgorithm": "AES_128",
    "KeyClass": "SYMMETRIC_KEY",
    "KeyModesOfUse": {"Encrypt": True, "Decrypt": True, "Wrap": True, "Unwrap": True},
}


def assert_error(response: RawResponse, code: str, status: int) -> dict:
    """An AWS JSON 1.0 error: status, x-amzn-ErrorType, `__type` and `message`, request id."""
    assert response.status == status, (response.status, response.body)
    assert response.status != 500
    assert response.headers.get("x-amzn-requestid"), response.headers
    assert response.error_type == code, (response.headers, response.body)
    assert response.headers.get("content-type", "").startswith("application/x-amz-json-1.0")
    body = response.json()
    assert body["__type"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


def test_success_headers_and_request_ids(endpoint):
    ids = set()
    for _ in range(3):
        r = call_raw(endpoint, "ListKeys", {})
        assert r.status == 200
        assert r.headers["content-type"].startswith("application/x-amz-json-1.0")
        assert "x-amzn-errortype" not in r.headers
        ids.add(r.headers["x-amzn-requestid"])
        assert "Keys" in r.json()
    assert len(ids) == 3


def test_boto3_sees_request_id(client):
    assert client.list_keys()["ResponseMetadata"]["RequestId"]


def test_empty_body_is_empty_object(endpoint):
    r = call_raw(endpoint, "ListKeys", body=b"")
    assert r.status == 200
    assert isinstance(r.json()["Keys"], list)


def test_timestamps_are_epoch_seconds(endpoint):
    r = call_raw(endpoint, "CreateKey", {"KeyAttributes": K0_ATTRIBUTES, "Exportable": True})
    assert r.status == 200, r.body
    key = r.json()["Key"]
    assert isinstance(key["CreateTimestamp"], (int, float)) and not isinstance(key["CreateTimestamp"], bool)
    assert abs(key["CreateTimestamp"] - time.time()) < 60
    assert isinstance(key["UsageStartTimestamp"], (int, float))
    # all nine modes of use on the wire, as JSON booleans
    assert set(key["KeyAttributes"]["KeyModesOfUse"]) == {
        "Encrypt", "Decrypt", "Wrap", "Unwrap", "Generate", "Sign", "Verify", "DeriveKey", "NoRestrictions",
    }
    assert all(isinstance(v, bool) for v in key["KeyAttributes"]["KeyModesOfUse"].values())


def test_not_found_carries_resource_id(endpoint):
    arn = f"arn:aws:payment-cryptography:{REGION}:{DEFAULT_ACCOUNT}:key/aaaaaaaaaaaaaaaa"
    body = assert_error(call_raw(endpoint, "GetKey", {"KeyIdentifier": arn}), "ResourceNotFoundException", 404)
    assert body["ResourceId"] == arn


# --------------------------------------------------------------------------------------------
# Authentication
# --------------------------------------------------------------------------------------------


def test_missing_authorization(endpoint):
    body = b"{}"
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": TARGET_PREFIX + "ListKeys"}
    assert_error(send_raw(endpoint, headers, body), "MissingAuthenticationTokenException", 403)
    # X-Amz-Date alone is no credential either
    headers["X-Amz-Date"] = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    assert_error(send_raw(endpoint, headers, body), "MissingAuthenticationTokenException", 403)


def test_unknown_access_key(endpoint):
    r = call_raw(endpoint, "ListKeys", {}, access_key="AKIDUNKNOWN", secret="whatever")
    assert_error(r, "UnrecognizedClientException", 403)


def test_wrong_secret(endpoint):
    r = call_raw(endpoint, "ListKeys", {}, secret="not-the-secret")
    body = assert_error(r, "InvalidSignatureException", 403)
    assert "signature" in body["message"].lower()


def test_tampered_body(endpoint):
    original = json.dumps({"MaxResults": 5}).encode()
    headers = sign(endpoint, "ListKeys", original)
    tampered = json.dumps({"MaxResults": 6}).encode()
    assert_error(send_raw(endpoint, headers, tampered), "InvalidSignatureException", 403)
    # the untampered request is fine
    assert send_raw(endpoint, headers, original).status == 200


def test_tampered_signed_header(endpoint):
    body = b"{}"
    headers = sign(endpoint, "ListKeys", body)
    headers["X-Amz-Target"] = TARGET_PREFIX + "ListAliases"
    assert_error(send_raw(endpoint, headers, body), "InvalidSignatureException", 403)


def test_tampered_signature_hex(endpoint):
    body = b"{}"
    headers = sign(endpoint, "ListKeys", body)
    auth = headers["Authorization"]
    last = auth[-1]
    headers["Authorization"] = auth[:-1] + ("0" if last != "0" else "1")
    assert_error(send_raw(endpoint, headers, body), "InvalidSignatureException", 403)


def test_content_sha256_header_mismatch(endpoint):
    body = b"{}"
    request_headers = sign(endpoint, "ListKeys", body)
    # sign again, this time with a (wrong) x-amz-content-sha256 among the signed headers
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials

    req = botocore.awsrequest.AWSRequest(
        method="POST",
        url=endpoint + "/",
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": TARGET_PREFIX + "ListKeys",
            "X-Amz-Content-SHA256": "0" * 64,
        },
    )
    botocore.auth.SigV4Auth(botocore.credentials.Credentials("test", "test"), "payment-cryptography", REGION).add_auth(req)
    headers = dict(req.prepare().headers.items())
    assert_error(send_raw(endpoint, headers, body), "InvalidSignatureException", 403)
    assert send_raw(endpoint, request_headers, body).status == 200


def test_correct_content_sha256_header_accepted(endpoint):
    import hashlib

    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials

    body = b'{"MaxResults": 3}'
    req = botocore.awsrequest.AWSRequest(
        method="POST",
        url=endpoint + "/",
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": TARGET_PREFIX + "ListKeys",
            "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest(),
        },
    )
    botocore.auth.SigV4Auth(botocore.credentials.Credentials("test", "test"), "payment-cryptography", REGION).add_auth(req)
    assert send_raw(endpoint, dict(req.prepare().headers.items()), body).status == 200


@pytest.mark.parametrize("skew_minutes", [6, -6, 60, -24 * 60])
def test_clock_skew_rejected(endpoint, skew_minutes):
    when = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(minutes=skew_minutes)
    r = call_raw(endpoint, "ListKeys", {}, when=when)
    body = assert_error(r, "InvalidSignatureException", 403)
    if skew_minutes > 0:
        assert body["message"].startswith("Signature not yet current"), body["message"]
        assert "too far in the future" in body["message"], body["message"]
    else:
        assert body["message"].startswith("Signature expired"), body["message"]


@pytest.mark.parametrize("skew_minutes", [4, -4])
def test_small_clock_skew_accepted(endpoint, skew_minutes):
    when = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(minutes=skew_minutes)
    assert call_raw(endpoint, "ListKeys", {}, when=when).status == 200


@pytest.mark.parametrize("service", ["kms", "payment-cryptography-data", "s3"])
def test_wrong_service_in_scope(endpoint, service):
    r = call_raw(endpoint, "ListKeys", {}, service=service)
    body = assert_error(r, "InvalidSignatureException", 403)
    assert "payment-cryptography" in body["message"]


def test_invalid_region_in_scope(endpoint):
    assert_error(call_raw(endpoint, "ListKeys", {}, region="notaregion"), "InvalidSignatureException", 403)


def test_security_token_is_accepted(endpoint):
    r = call_raw(endpoint, "ListKeys", {}, token="FQoGZXIvYXdzEXAMPLETOKEN")
    assert r.status == 200, r.body


@pytest.mark.parametrize(
    "authorization",
    [
        "AWS4-HMAC-SHA256",
        "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/payment-cryptography/aws4_request",
        "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=abcd",
        "Bearer abc",
    ],
)
def test_malformed_authorization(endpoint, authorization):
    body = b"{}"
    headers = sign(endpoint, "ListKeys", body)
    headers["Authorization"] = authorization
    r = send_raw(endpoint, headers, body)
    assert r.status == 403, r.body
    assert r.error_type in ("IncompleteSignatureException", "InvalidSignatureException", "MissingAuthenticationTokenException")
    assert_error(r, r.error_type, 403)


# --------------------------------------------------------------------------------------------
# Routing, serialization, validation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        TARGET_PREFIX + "NoSuchOperation",
        TARGET_PREFIX + "listKeys",
        "PaymentCryptographyDataPlane.ListKeys",
        "ListKeys",
        "",
        None,
    ],
)
def test_unknown_target(endpoint, target):
    body = b"{}"
    headers = sign(endpoint, None, body, target=target or "", omit_target=target is None)
    assert ("X-Amz-Target" in headers) is (target is not None)
    body_json = assert_error(send_raw(endpoint, headers, body), "UnknownOperationException", 400)
    assert body_json["message"]


@pytest.mark.parametrize("method,path", [("POST", "/other"), ("DELETE", "/x"), ("GET", "/"), ("PUT", "/")])
def test_other_methods_and_paths_are_aws_errors(endpoint, method, path):
    # Only POST / is the API. Anything else is refused in the AWS JSON error format, with a
    # request id like every other response.
    r = send_raw(endpoint, {"Content-Type": "application/x-amz-json-1.0"}, b"{}", method=method, path=path)
    assert 400 <= r.status < 500, (method, path, r.status)
    assert r.headers.get("x-amzn-requestid"), (method, path, r.status, r.headers)
    assert r.error_type, (method, path, r.status, r.headers)
    assert r.json()["__type"] == r.error_type


def test_health(endpoint):
    r = send_raw(endpoint, {}, b"", method="GET", path="/health")
    assert r.status == 200


@pytest.mark.parametrize(
    "body",
    [b"{", b"not json", b'{"MaxResults": 5,}', b"\xff\xfe{}", b"[]", b'"a string"', b"42", b"null"],
)
def test_invalid_json_is_serialization_error(endpoint, body):
    assert_error(call_raw(endpoint, "ListKeys", body=body), "SerializationException", 400)


@pytest.mark.parametrize(
    "operation,payload",
    [
        ("ListKeys", {"MaxResults": "5"}),
        ("ListKeys", {"MaxResults": 5.5}),
        ("ListKeys", {"KeyState": 7}),
        ("ListKeys", {"NextToken": ["a"]}),
        ("CreateKey", {"KeyAttributes": "TR31_K0", "Exportable": True}),
        ("CreateKey", {"KeyAttributes": K0_ATTRIBUTES, "Exportable": "yes"}),
        ("CreateKey", {"KeyAttributes": {**K0_ATTRIBUTES, "KeyModesOfUse": {"Encrypt": 1}}, "Exportable": True}),
        ("CreateKey", {"KeyAttributes": K0_ATTRIBUTES, "Exportable": True, "Tags": {"k": "v"}}),
        ("GetKey", {"KeyIdentifier": 12345}),
        ("TagResource", {"ResourceArn": "x" * 80, "Tags": [["k", "v"]]}),
    ],
)
def test_wrong_member_type_is_serialization_error(endpoint, operation, payload):
    assert_error(call_raw(endpoint, operation, payload), "SerializationException", 400)


@pytest.mark.parametrize(
    "operation,payload,members",
    [
        ("CreateKey", {}, ["keyAttributes", "exportable"]),
        ("CreateKey", {"KeyAttributes": K0_ATTRIBUTES}, ["exportable"]),
        ("CreateKey", {"Exportable": True, "KeyAttributes": {"KeyUsage": "TR31_K0_KEY_ENCRYPTION_KEY"}}, ["keyAttributes.keyClass", "keyAttributes.keyAlgorithm", "keyAttributes.keyModesOfUse"]),
        ("GetKey", {}, ["keyIdentifier"]),
        ("DeleteKey", {"KeyIdentifier": None}, ["keyIdentifier"]),
        ("CreateAlias", {}, ["aliasName"]),
        ("TagResource", {"Tags": []}, ["resourceArn"]),
        ("UntagResource", {"ResourceArn": "arn:aws:payment-cryptography:us-east-1:111122223333:key/aaaaaaaaaaaaaaaa"}, ["tagKeys"]),
    ],
)
def test_missing_required_member_is_validation_error(endpoint, operation, payload, members):
    body = assert_error(call_raw(endpoint, operation, payload), "ValidationException", 400)
    for member in members:
        assert f"'{member}'" in body["message"], body["message"]
    assert "must not be null" in body["message"]


@pytest.mark.parametrize(
    "payload,member",
    [
        ({"KeyAttributes": {**K0_ATTRIBUTES, "KeyUsage": "TR31_ZZ_NOPE"}, "Exportable": True}, "keyAttributes.keyUsage"),
        ({"KeyAttributes": {**K0_ATTRIBUTES, "KeyAlgorithm": "AES_512"}, "Exportable": True}, "keyAttributes.keyAlgorithm"),
        ({"KeyAttributes": K0_ATTRIBUTES, "Exportable": True, "KeyCheckValueAlgorithm": "MD5"}, "keyCheckValueAlgorithm"),
    ],
)
def test_enum_violation_is_validation_error(endpoint, payload, member):
    body = assert_error(call_raw(endpoint, "CreateKey", payload), "ValidationException", 400)
    assert member in body["message"]


def test_oversized_body_is_refused_cleanly(endpoint):
    body = json.dumps({"NextToken": "a" * (1536 * 1024)}).encode()
    assert_error(call_raw(endpoint, "ListKeys", body=body), "RequestEntityTooLargeException", 413)


def test_unknown_members_are_ignored(endpoint):
    r = call_raw(endpoint, "ListKeys", {"MaxResults": 1, "SomethingElse": {"x": 1}})
    assert r.status == 200, r.body


def test_validation_does_not_create(endpoint):
    client = make_client(endpoint)
    before = len(list(p for page in client.get_paginator("list_keys").paginate() for p in page["Keys"]))
    call_raw(endpoint, "CreateKey", {"KeyAttributes": {**K0_ATTRIBUTES, "KeyUsage": "bogus"}, "Exportable": True})
    call_raw(endpoint, "CreateKey", {"KeyAttributes": K0_ATTRIBUTES, "Exportable": "true"})
    after = len(list(p for page in client.get_paginator("list_keys").paginate() for p in page["Keys"]))
    assert after == before
