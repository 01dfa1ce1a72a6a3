"""A battery of malformed requests, driven by the service model for all 32 operations.

Every request is SigV4-signed (so it gets past authentication and reaches decoding) and then broken
in one way: a required member left out, a member of the wrong JSON type, a string too long or not
matching its pattern, an enum value that does not exist, an integer out of range, JSON nested
10,000 deep or very large, bytes that are not UTF-8, a Content-Type that is not JSON, a body over
the 1 MiB limit, headers sent twice. Each must get the right 4xx with the right AWS `__type`
(never a 500, never a dropped connection), and afterwards the server still answers and its log
holds no panic.

What paycrypt accepts as Content-Type (AWS JSON 1.0 is `application/x-amz-json-1.0`, which every
SDK sends): that, `application/x-amz-json-1.1`, `application/json`, or none at all; any other media
type is a SerializationException. Bodies over 1 MiB are refused with 413 and
`RequestEntityTooLargeException` before they are read further.
"""

from __future__ import annotations

import copy
import http.client
import json
import urllib.parse

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest

from conftest import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_SECRET,
    REGION,
    SERVICE,
    TARGET_PREFIX,
    RawResponse,
    call_raw,
    make_client,
    send_raw,
    sign,
)
from model_requests import (
    OPERATIONS,
    constrained_members,
    delete_at,
    pattern_breaker,
    set_at,
    valid_body,
)

JSON_CONTENT_TYPE = "application/x-amz-json-1.0"
MAX_BODY_BYTES = 1024 * 1024


def assert_error(response: RawResponse, code: str, status: int = 400) -> str:
    """An AWS JSON 1.0 error with this code and status; returns its message."""
    assert response.status == status, (response.status, response.body[:500])
    assert response.error_type == code, (response.headers, response.body[:500])
    assert response.headers.get("x-amzn-requestid")
    assert response.headers.get("content-type", "").startswith(JSON_CONTENT_TYPE)
    body = response.json()
    assert body["__type"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body["message"]


def cases(kind: str):
    """(operation, member) pairs of the full bodies whose member shape is of `kind` ("any" for all)."""
    out = []
    for op in OPERATIONS:
        for member in constrained_members(op):
            if kind == "any" or member.shape["type"] == kind:
                out.append(pytest.param(op, member, id=f"{op}-{member.wire_path}"))
    return out


def broken(op: str, member, value) -> dict:
    body = copy.deepcopy(valid_body(op, full=True))
    set_at(body, member.path, value)
    return body


# ---------------------------------------------------------------------------------------------
# Model constraints, member by member
# ---------------------------------------------------------------------------------------------


def test_every_operation_is_covered():
    assert len(OPERATIONS) == 32
    assert sum(1 for op in OPERATIONS for m in constrained_members(op) if m.required) > 40


@pytest.mark.parametrize("op", OPERATIONS)
def test_full_valid_bodies_pass_validation(endpoint, op):
    # The baseline every other case breaks one thing of: it must get past decoding (whatever the
    # service then says about the made-up identifiers is not a decoding error).
    r = call_raw(endpoint, op, valid_body(op, full=True))
    assert r.status != 500, r.body
    assert r.error_type not in ("SerializationException", "UnknownOperationException"), r.body
    if r.error_type == "ValidationException":
        assert "failed to satisfy constraint" not in r.json()["message"], r.body


@pytest.mark.parametrize(
    "op,member", [p for p in cases("any") if p.values[1].required]
)
def test_missing_required_member(endpoint, op, member):
    body = copy.deepcopy(valid_body(op, full=True))
    delete_at(body, member.path)
    message = assert_error(call_raw(endpoint, op, body), "ValidationException")
    assert f"Value null at '{member.wire_path}' failed to satisfy constraint: Member must not be null" in message


WRONG_JSON_TYPE = {
    "string": 12345,
    "integer": "12",
    "boolean": "true",
    "timestamp": "yesterday",
    "structure": "not an object",
    "list": {"not": "a list"},
    "map": ["not", "a map"],
}


@pytest.mark.parametrize("op,member", cases("any"))
def test_wrong_json_type(endpoint, op, member):
    body = broken(op, member, WRONG_JSON_TYPE[member.shape["type"]])
    assert_error(call_raw(endpoint, op, body), "SerializationException")


def _over_long_cases():
    return [
        p
        for p in cases("string")
        if "max" in p.values[1].shape and "enum" not in p.values[1].shape
    ]


@pytest.mark.parametrize("op,member", _over_long_cases())
def test_over_long_string(endpoint, op, member):
    limit = member.shape["max"]
    # A value the pattern would accept in every model shape with a length limit: hex digits.
    body = broken(op, member, "A" * (limit + 1))
    message = assert_error(call_raw(endpoint, op, body), "ValidationException")
    assert f"at '{member.wire_path}'" in message
    assert f"Member must have length less than or equal to {limit}" in message


def _pattern_cases():
    return [
        p
        for p in cases("string")
        if "enum" not in p.values[1].shape and pattern_breaker(p.values[1].shape) is not None
    ]


@pytest.mark.parametrize("op,member", _pattern_cases())
def test_pattern_violation(endpoint, op, member):
    body = broken(op, member, pattern_breaker(member.shape))
    message = assert_error(call_raw(endpoint, op, body), "ValidationException")
    assert f"at '{member.wire_path}'" in message
    assert "Member must satisfy regular expression pattern" in message


@pytest.mark.parametrize("op,member", [p for p in cases("string") if "enum" in p.values[1].shape])
def test_invalid_enum_value(endpoint, op, member):
    body = broken(op, member, "NOT_A_" + member.shape_name.upper())
    message = assert_error(call_raw(endpoint, op, body), "ValidationException")
    assert f"at '{member.wire_path}'" in message
    assert "Member must satisfy enum value set" in message


def _range_cases():
    out = []
    for p in cases("integer"):
        shape = p.values[1].shape
        if "min" in shape:
            out.append(pytest.param(*p.values, shape["min"] - 1, "greater", id=p.id + "-below"))
        if "max" in shape:
            out.append(pytest.param(*p.values, shape["max"] + 1, "less", id=p.id + "-above"))
    return out


@pytest.mark.parametrize("op,member,value,side", _range_cases())
def test_integer_out_of_range(endpoint, op, member, value, side):
    message = assert_error(call_raw(endpoint, op, broken(op, member, value)), "ValidationException")
    assert f"Member must have value {side} than or equal to" in message


@pytest.mark.parametrize("op,member", cases("integer"))
@pytest.mark.parametrize("value", [2**31, -(2**31) - 1, 10**30, 1e400])
def test_integer_beyond_int32(endpoint, op, member, value):
    # Past the wire type's range: a number that is not an int32 is not the JSON the shape wants,
    # or outside the model's range.
    literal = "1e400" if value == 1e400 else str(value)
    body = json.dumps(broken(op, member, "NUMBER")).replace('"NUMBER"', literal)
    r = call_raw(endpoint, op, body=body.encode())
    assert r.error_type in ("SerializationException", "ValidationException"), (r.status, r.body)
    assert r.status == 400


# ---------------------------------------------------------------------------------------------
# JSON that is not what any shape wants
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", OPERATIONS)
def test_deeply_nested_arrays(endpoint, op):
    body = b'{"Nested": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    message = assert_error(call_raw(endpoint, op, body=body), "SerializationException")
    assert "not valid JSON" in message


@pytest.mark.parametrize("opener,closer", [(b"[", b"]"), (b'{"a":', b"}")])
def test_deeply_nested_top_level(endpoint, opener, closer):
    body = opener * 100_000 + closer * 100_000
    assert_error(call_raw(endpoint, "ListKeys", body=body), "SerializationException")


def test_nesting_within_the_limit_in_an_unknown_member_is_ignored(endpoint):
    body = b'{"Nested": ' + b"[" * 100 + b"]" * 100 + b"}"
    r = call_raw(endpoint, "ListKeys", body=body)
    assert r.status == 200, r.body


def test_huge_unknown_member_within_the_limit(endpoint):
    # Just under 1 MiB of JSON the model does not know: parsed, ignored, answered.
    count = (MAX_BODY_BYTES - 100) // 2
    body = b'{"Big": [' + b",".join([b"1"] * count) + b"]}"
    assert len(body) < MAX_BODY_BYTES
    r = call_raw(endpoint, "ListKeys", body=body)
    assert r.status == 200, r.body[:300]


@pytest.mark.parametrize("op", OPERATIONS)
def test_huge_string_member(endpoint, op):
    members = [m for m in constrained_members(op) if m.shape["type"] == "string" and "enum" not in m.shape]
    if not members:
        pytest.skip(f"{op} has no free-form string member")
    member = members[0]
    body = broken(op, member, "A" * (900 * 1024))
    message = assert_error(call_raw(endpoint, op, body), "ValidationException")
    # The echoed value is cut short, not the 900 KiB sent.
    assert len(message) < 4096


@pytest.mark.parametrize(
    "body",
    [
        b'{"NextToken": "\xff\xfe"}',
        b'{"NextToken": "\xc0\xaf"}',  # overlong encoding of '/'
        b'{"NextToken": "\xed\xa0\x80"}',  # an encoded surrogate
        b'{"NextToken": "abc\x80"}',
        b'{"\xff": 1}',
        b"\xef\xbb\xbf{}",  # a byte order mark
    ],
)
def test_invalid_utf8(endpoint, body):
    assert_error(call_raw(endpoint, "ListKeys", body=body), "SerializationException")


@pytest.mark.parametrize(
    "text",
    [r'{"NextToken": "\ud800"}', r'{"NextToken": "\udc00x"}', r'{"NextToken": "\u00"}', '{"NextToken": "a\x01b"}'],
)
def test_bad_json_string_escapes(endpoint, text):
    assert_error(call_raw(endpoint, "ListKeys", body=text.encode()), "SerializationException")


@pytest.mark.parametrize("text", ['{"MaxResults": 1, "MaxResults": 2}', '{"MaxResults": NaN}', '{"MaxResults": 01}'])
def test_json_oddities(endpoint, text):
    r = call_raw(endpoint, "ListKeys", body=text.encode())
    assert r.status in (200, 400), r.body
    if r.status == 400:
        assert r.error_type == "SerializationException", r.body


# ---------------------------------------------------------------------------------------------
# Headers and sizes
# ---------------------------------------------------------------------------------------------


def send_headers(endpoint: str, headers: list[tuple[str, str]], body: bytes) -> RawResponse:
    """POST / with headers in this order, repeats allowed."""
    url = urllib.parse.urlsplit(endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.putrequest("POST", "/", skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def signed_list_keys(endpoint: str, body: bytes, content_type: str | None) -> dict[str, str]:
    """Headers of a signed ListKeys request with this Content-Type (or none), signed over it."""
    headers = {"X-Amz-Target": TARGET_PREFIX + "ListKeys"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    request = botocore.awsrequest.AWSRequest(method="POST", url=endpoint + "/", data=body, headers=headers)
    credentials = botocore.credentials.Credentials(DEFAULT_ACCESS_KEY, DEFAULT_SECRET)
    botocore.auth.SigV4Auth(credentials, SERVICE, REGION).add_auth(request)
    out = dict(request.prepare().headers.items())
    out["Host"] = urllib.parse.urlsplit(endpoint).netloc
    return out


@pytest.mark.parametrize(
    "content_type",
    [JSON_CONTENT_TYPE, "application/x-amz-json-1.1", "application/json", "Application/JSON; charset=utf-8",
     JSON_CONTENT_TYPE + "; charset=UTF-8", None],
)
def test_json_content_types_are_accepted(endpoint, content_type):
    body = b"{}"
    headers = signed_list_keys(endpoint, body, content_type)
    assert ("Content-Type" in headers) is (content_type is not None)
    r = send_raw(endpoint, headers, body)
    assert r.status == 200, (content_type, r.body)


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data; boundary=x",
     "application/cbor", "application/x-amz-json-1.0x", ""],
)
def test_other_content_types_are_refused(endpoint, content_type):
    body = b"{}"
    r = send_raw(endpoint, signed_list_keys(endpoint, body, content_type), body)
    message = assert_error(r, "SerializationException")
    assert "Content-Type" in message


@pytest.mark.parametrize("size", [MAX_BODY_BYTES + 1, 4 * MAX_BODY_BYTES])
def test_oversized_body(endpoint, size):
    body = b'{"NextToken": "' + b"a" * (size - 17) + b'"}'
    assert len(body) == size
    message = assert_error(call_raw(endpoint, "ListKeys", body=body), "RequestEntityTooLargeException", 413)
    assert str(MAX_BODY_BYTES) in message


def test_body_of_exactly_the_limit_is_read(endpoint):
    body = b'{"NextToken": "' + b"a" * (MAX_BODY_BYTES - 17) + b'"}'
    assert len(body) == MAX_BODY_BYTES
    message = assert_error(call_raw(endpoint, "ListKeys", body=body), "ValidationException")
    assert "nextToken" in message


def test_two_targets_are_refused(endpoint):
    # Signed over both values (SigV4 joins repeated headers with a comma), so the signature
    # holds: the server must not pick one of the two operations.
    body = b"{}"
    both = f"{TARGET_PREFIX}ListKeys,{TARGET_PREFIX}ListAliases"
    headers = [(k, v) for k, v in sign(endpoint, "ListKeys", body, target=both).items() if k != "X-Amz-Target"]
    headers += [("X-Amz-Target", TARGET_PREFIX + "ListKeys"), ("X-Amz-Target", TARGET_PREFIX + "ListAliases")]
    message = assert_error(send_headers(endpoint, headers, body), "UnknownOperationException")
    assert "X-Amz-Target" in message


def test_two_identical_targets_are_refused(endpoint):
    body = b"{}"
    both = f"{TARGET_PREFIX}ListKeys,{TARGET_PREFIX}ListKeys"
    headers = [(k, v) for k, v in sign(endpoint, "ListKeys", body, target=both).items() if k != "X-Amz-Target"]
    headers += [("X-Amz-Target", TARGET_PREFIX + "ListKeys")] * 2
    assert_error(send_headers(endpoint, headers, body), "UnknownOperationException")


def test_unsigned_second_target_breaks_the_signature(endpoint):
    body = b"{}"
    headers = list(sign(endpoint, "ListKeys", body).items()) + [("X-Amz-Target", TARGET_PREFIX + "DeleteKey")]
    assert_error(send_headers(endpoint, headers, body), "InvalidSignatureException", 403)


def test_two_authorization_headers_are_refused(endpoint):
    body = b"{}"
    headers = sign(endpoint, "ListKeys", body)
    items = list(headers.items()) + [("Authorization", headers["Authorization"])]
    r = send_headers(endpoint, items, body)
    assert r.status in (400, 403), r.body
    assert r.error_type in ("IncompleteSignatureException", "InvalidSignatureException"), r.body


def test_two_content_types_are_refused(endpoint):
    body = b"{}"
    headers = sign(endpoint, "ListKeys", body)
    items = list(headers.items()) + [("Content-Type", "text/plain")]
    r = send_headers(endpoint, items, body)
    assert 400 <= r.status < 500 and r.error_type, (r.status, r.body)


# ---------------------------------------------------------------------------------------------
# Afterwards
# ---------------------------------------------------------------------------------------------


def test_zz_server_survives_the_battery(endpoint, server):
    # Runs last in this module (pytest keeps file order): the server still serves, and nothing
    # that came before panicked it or made it log an internal error.
    client = make_client(endpoint)
    key = client.create_key(
        Exportable=True,
        KeyAttributes={
            "KeyUsage": "TR31_K0_KEY_ENCRYPTION_KEY",
            "KeyAlgorithm": "AES_128",
            "KeyClass": "SYMMETRIC_KEY",
            "KeyModesOfUse": {"Encrypt": True, "Decrypt": True, "Wrap": True, "Unwrap": True},
        },
    )["Key"]
    assert client.get_key(KeyIdentifier=key["KeyArn"])["Key"]["KeyArn"] == key["KeyArn"]
    assert key["KeyArn"] in [k["KeyArn"] for k in client.list_keys()["Keys"]]
    log = server.log()
    assert "panicked" not in log
    assert "internal error" not in log
    assert server.running
