"""A battery of malformed requests, driven by the service models: all 32 operations of the control
plane (AWS JSON 1.0, `POST /` with `X-Amz-Target`) and all 15 of the data plane (rest-json, `POST`
to the operation's path, e.g. `/keys/{KeyIdentifier}/encrypt`), on the same listener.

Every request is SigV4-signed (so it gets past authentication and reaches decoding) and then broken
in one way: a required member left out, a member of the wrong JSON type, a string too long or not
matching its pattern, an enum value that does not exist, an integer out of range, JSON nested
10,000 deep or very large, bytes that are not UTF-8, a Content-Type that is not JSON, a body over
the 1 MiB limit, headers sent twice; on the data plane also the path: a key identifier label that
breaks the model's constraints, a malformed percent-escape, a path or a method no operation is
bound to. Each must get the right 4xx with the right AWS `__type` (never a 500, never a dropped
connection), and afterwards the server still answers and its log holds no panic.

What paycrypt accepts as Content-Type on both planes (AWS JSON 1.0 is `application/x-amz-json-1.0`,
which every SDK sends to the control plane; rest-json is `application/json`): those two,
`application/x-amz-json-1.1`, or none at all; any other media type is a SerializationException.
Bodies over 1 MiB are refused with 413 and `RequestEntityTooLargeException` before they are read
further. A label is percent-decoded once and checked like a body member (a ValidationException
naming `keyIdentifier`); an escape that is not `%` and two hex digits, or that decodes to bytes that
are not UTF-8, is a ValidationException too. A path or method bound to no operation is a 404
UnknownOperationException.
"""

from __future__ import annotations

import copy
import http.client
import json
import urllib.parse
from dataclasses import dataclass

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
    make_client,
    send_raw,
    sign,
)
from model_requests import (
    CONTROL,
    DATA,
    ModelRequests,
    delete_at,
    pattern_breaker,
    set_at,
)

MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Plane:
    """One of the two APIs on the listener: its model and how a request reaches an operation."""

    name: str
    requests: ModelRequests
    content_type: str  # what SDKs send, and what an error comes back as
    probe: tuple[str, str]  # an operation and a string member of it, for the JSON parser's cases

    def path(self, op: str) -> str:
        return self.requests.path(op) if self.requests is DATA else "/"

    def headers(
        self, endpoint: str, op: str, body: bytes, content_type: str | None, path: str | None = None,
        method: str = "POST",
    ) -> dict[str, str]:
        """SigV4-signed headers of a request for `op` with this Content-Type (None for none), to
        `path` (the operation's own by default)."""
        headers = {}
        if self.requests is CONTROL:
            headers["X-Amz-Target"] = TARGET_PREFIX + op
        if content_type is not None:
            headers["Content-Type"] = content_type
        url = endpoint + (path or self.path(op))
        request = botocore.awsrequest.AWSRequest(method=method, url=url, data=body, headers=headers)
        credentials = botocore.credentials.Credentials(DEFAULT_ACCESS_KEY, DEFAULT_SECRET)
        botocore.auth.SigV4Auth(credentials, SERVICE, REGION).add_auth(request)
        out = dict(request.prepare().headers.items())
        out["Host"] = urllib.parse.urlsplit(endpoint).netloc
        return out

    def call(
        self, endpoint: str, op: str, payload=None, body: bytes | None = None, path: str | None = None,
        method: str = "POST",
    ) -> RawResponse:
        """Signs and sends one request with the plane's Content-Type; `body` (bytes) wins over
        `payload` (JSON-encoded)."""
        if body is None:
            body = json.dumps(payload if payload is not None else {}).encode()
        path = path or self.path(op)
        headers = self.headers(endpoint, op, body, self.content_type, path, method)
        return send_raw(endpoint, headers, body, method=method, path=path)


CONTROL_PLANE = Plane("control", CONTROL, "application/x-amz-json-1.0", ("ListKeys", "NextToken"))
DATA_PLANE = Plane("data", DATA, "application/json", ("EncryptData", "PlainText"))
PLANES = [pytest.param(plane, id=plane.name) for plane in (CONTROL_PLANE, DATA_PLANE)]


def assert_error(plane: Plane, response: RawResponse, code: str, status: int = 400) -> str:
    """An AWS error of the plane with this code and status; returns its message."""
    assert response.status == status, (response.status, response.body[:500])
    assert response.error_type == code, (response.headers, response.body[:500])
    assert response.headers.get("x-amzn-requestid")
    assert response.headers.get("content-type") == plane.content_type, response.headers
    body = response.json()
    assert body["__type"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body["message"]


def assert_decoded(response: RawResponse) -> None:
    """The request got past decoding: whatever the service then says about the made-up
    identifiers is not a decoding error."""
    assert response.status != 500, response.body
    assert response.error_type not in ("SerializationException", "UnknownOperationException"), response.body
    if response.error_type == "ValidationException":
        assert "failed to satisfy constraint" not in response.json()["message"], response.body


def operations():
    """(plane, operation) of every operation of both models."""
    return [
        pytest.param(plane, op, id=f"{plane.name}-{op}")
        for plane in (CONTROL_PLANE, DATA_PLANE)
        for op in plane.requests.operations
    ]


def cases(kind: str, keep=lambda member: True):
    """(plane, operation, member) of the full bodies whose member shape is of `kind` ("any" for
    all) and which `keep` keeps."""
    out = []
    for plane in (CONTROL_PLANE, DATA_PLANE):
        for op in plane.requests.operations:
            for member in plane.requests.constrained_members(op):
                if (kind == "any" or member.shape["type"] == kind) and keep(member):
                    out.append(pytest.param(plane, op, member, id=f"{plane.name}-{op}-{member.wire_path}"))
    return out


def broken(plane: Plane, op: str, member, value) -> dict:
    body = copy.deepcopy(plane.requests.valid_body(op, full=True))
    set_at(body, member.path, value)
    return body


def with_unknown_member(plane: Plane, name: str, value: bytes) -> bytes:
    """A valid body of the plane's probe operation with one more member, `value` (raw JSON text)."""
    body = json.dumps({**plane.requests.valid_body(plane.probe[0]), name: "VALUE"}).encode()
    return body.replace(b'"VALUE"', value)


def probe_body(plane: Plane, value: bytes) -> bytes:
    """A body of the plane's probe operation with `value` (raw JSON text) in its probe member."""
    return b'{"' + plane.probe[1].encode() + b'": ' + value + b"}"


# ---------------------------------------------------------------------------------------------
# Model constraints, member by member
# ---------------------------------------------------------------------------------------------


def test_every_operation_is_covered():
    assert len(CONTROL.operations) == 32
    assert len(DATA.operations) == 15
    for requests in (CONTROL, DATA):
        assert sum(1 for op in requests.operations for m in requests.constrained_members(op) if m.required) > 40
    assert [op for op in DATA.operations if DATA.labels(op)] == ["DecryptData", "EncryptData", "ReEncryptData"]


@pytest.mark.parametrize("plane,op", operations())
def test_full_valid_bodies_pass_validation(endpoint, plane, op):
    # The baseline every other case breaks one thing of.
    assert_decoded(plane.call(endpoint, op, plane.requests.valid_body(op, full=True)))


@pytest.mark.parametrize("plane,op", operations())
def test_minimal_valid_bodies_pass_validation(endpoint, plane, op):
    assert_decoded(plane.call(endpoint, op, plane.requests.valid_body(op)))


@pytest.mark.parametrize("plane,op,member", cases("any", lambda m: m.required))
def test_missing_required_member(endpoint, plane, op, member):
    body = copy.deepcopy(plane.requests.valid_body(op, full=True))
    delete_at(body, member.path)
    message = assert_error(plane, plane.call(endpoint, op, body), "ValidationException")
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


@pytest.mark.parametrize("plane,op,member", cases("any"))
def test_wrong_json_type(endpoint, plane, op, member):
    body = broken(plane, op, member, WRONG_JSON_TYPE[member.shape["type"]])
    assert_error(plane, plane.call(endpoint, op, body), "SerializationException")


@pytest.mark.parametrize("plane,op,member", cases("string", lambda m: "max" in m.shape and "enum" not in m.shape))
def test_over_long_string(endpoint, plane, op, member):
    limit = member.shape["max"]
    # Hex digits: a value the pattern accepts in most model shapes with a length limit (where it
    # does not, the message names both constraints).
    body = broken(plane, op, member, "A" * (limit + 1))
    message = assert_error(plane, plane.call(endpoint, op, body), "ValidationException")
    assert f"at '{member.wire_path}'" in message
    assert f"Member must have length less than or equal to {limit}" in message


@pytest.mark.parametrize(
    "plane,op,member",
    cases("string", lambda m: "enum" not in m.shape and pattern_breaker(m.shape) is not None),
)
def test_pattern_violation(endpoint, plane, op, member):
    body = broken(plane, op, member, pattern_breaker(member.shape))
    message = assert_error(plane, plane.call(endpoint, op, body), "ValidationException")
    assert f"at '{member.wire_path}'" in message
    assert "Member must satisfy regular expression pattern" in message


@pytest.mark.parametrize("plane,op,member", cases("string", lambda m: "enum" in m.shape))
def test_invalid_enum_value(endpoint, plane, op, member):
    body = broken(plane, op, member, "NOT_A_" + member.shape_name.upper())
    message = assert_error(plane, plane.call(endpoint, op, body), "ValidationException")
    assert f"at '{member.wire_path}'" in message
    assert "Member must satisfy enum value set" in message


def _range_cases():
    out = []
    for p in cases("integer"):
        shape = p.values[2].shape
        if "min" in shape:
            out.append(pytest.param(*p.values, shape["min"] - 1, "greater", id=p.id + "-below"))
        if "max" in shape:
            out.append(pytest.param(*p.values, shape["max"] + 1, "less", id=p.id + "-above"))
    return out


@pytest.mark.parametrize("plane,op,member,value,side", _range_cases())
def test_integer_out_of_range(endpoint, plane, op, member, value, side):
    response = plane.call(endpoint, op, broken(plane, op, member, value))
    message = assert_error(plane, response, "ValidationException")
    assert f"Member must have value {side} than or equal to" in message


@pytest.mark.parametrize("plane,op,member", cases("integer"))
@pytest.mark.parametrize("value", [2**31, -(2**31) - 1, 10**30, 1e400])
def test_integer_beyond_int32(endpoint, plane, op, member, value):
    # Past the wire type's range: a number that is not an int32 is not the JSON the shape wants,
    # or outside the model's range.
    literal = "1e400" if value == 1e400 else str(value)
    body = json.dumps(broken(plane, op, member, "NUMBER")).replace('"NUMBER"', literal)
    r = plane.call(endpoint, op, body=body.encode())
    assert r.error_type in ("SerializationException", "ValidationException"), (r.status, r.body)
    assert r.status == 400


# ---------------------------------------------------------------------------------------------
# JSON that is not what any shape wants
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("plane,op", operations())
def test_deeply_nested_arrays(endpoint, plane, op):
    body = b'{"Nested": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    message = assert_error(plane, plane.call(endpoint, op, body=body), "SerializationException")
    assert "not valid JSON" in message


@pytest.mark.parametrize("plane", PLANES)
@pytest.mark.parametrize("opener,closer", [(b"[", b"]"), (b'{"a":', b"}")])
def test_deeply_nested_top_level(endpoint, plane, opener, closer):
    body = opener * 100_000 + closer * 100_000
    assert_error(plane, plane.call(endpoint, plane.probe[0], body=body), "SerializationException")


@pytest.mark.parametrize("plane", PLANES)
def test_nesting_within_the_limit_in_an_unknown_member_is_ignored(endpoint, plane):
    op = plane.probe[0]
    body = with_unknown_member(plane, "Nested", b"[" * 100 + b"]" * 100)
    assert_decoded(plane.call(endpoint, op, body=body))


@pytest.mark.parametrize("plane", PLANES)
def test_huge_unknown_member_within_the_limit(endpoint, plane):
    # Just under 1 MiB of JSON the model does not know: parsed, ignored, answered.
    op = plane.probe[0]
    count = (MAX_BODY_BYTES - 1000) // 2
    body = with_unknown_member(plane, "Big", b"[" + b",".join([b"1"] * count) + b"]")
    assert len(body) < MAX_BODY_BYTES
    assert_decoded(plane.call(endpoint, op, body=body))


@pytest.mark.parametrize("plane,op", operations())
def test_huge_string_member(endpoint, plane, op):
    members = [
        m for m in plane.requests.constrained_members(op) if m.shape["type"] == "string" and "enum" not in m.shape
    ]
    if not members:
        pytest.skip(f"{op} has no free-form string member")
    member = members[0]
    body = broken(plane, op, member, "A" * (900 * 1024))
    message = assert_error(plane, plane.call(endpoint, op, body), "ValidationException")
    # The echoed value is cut short, not the 900 KiB sent.
    assert len(message) < 4096


@pytest.mark.parametrize("plane", PLANES)
@pytest.mark.parametrize(
    "value",
    [
        b'"\xff\xfe"',
        b'"\xc0\xaf"',  # overlong encoding of '/'
        b'"\xed\xa0\x80"',  # an encoded surrogate
        b'"abc\x80"',
    ],
)
def test_invalid_utf8_in_a_value(endpoint, plane, value):
    assert_error(plane, plane.call(endpoint, plane.probe[0], body=probe_body(plane, value)), "SerializationException")


@pytest.mark.parametrize("plane", PLANES)
@pytest.mark.parametrize("body", [b'{"\xff": 1}', b"\xef\xbb\xbf{}"])  # a bad name; a byte order mark
def test_invalid_utf8_around_values(endpoint, plane, body):
    assert_error(plane, plane.call(endpoint, plane.probe[0], body=body), "SerializationException")


@pytest.mark.parametrize("plane", PLANES)
@pytest.mark.parametrize("value", [rb'"\ud800"', rb'"\udc00x"', rb'"\u00"', b'"a\x01b"'])
def test_bad_json_string_escapes(endpoint, plane, value):
    assert_error(plane, plane.call(endpoint, plane.probe[0], body=probe_body(plane, value)), "SerializationException")


@pytest.mark.parametrize("text", ['{"MaxResults": 1, "MaxResults": 2}', '{"MaxResults": NaN}', '{"MaxResults": 01}'])
def test_json_oddities(endpoint, text):
    r = CONTROL_PLANE.call(endpoint, "ListKeys", body=text.encode())
    assert r.status in (200, 400), r.body
    if r.status == 400:
        assert r.error_type == "SerializationException", r.body


# ---------------------------------------------------------------------------------------------
# Headers and sizes
# ---------------------------------------------------------------------------------------------


def send_headers(endpoint: str, headers: list[tuple[str, str]], body: bytes, path: str = "/") -> RawResponse:
    """POST to `path` with headers in this order, repeats allowed."""
    url = urllib.parse.urlsplit(endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.putrequest("POST", path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def probe_request(plane: Plane, content: bytes = b"") -> bytes:
    """A valid body of the plane's probe operation, with `content` as the probe member if given."""
    op, member = plane.probe
    body = plane.requests.valid_body(op)
    if content:
        body[member] = content.decode()
    return json.dumps(body).encode()


@pytest.mark.parametrize("plane", PLANES)
@pytest.mark.parametrize(
    "content_type",
    ["application/x-amz-json-1.0", "application/x-amz-json-1.1", "application/json",
     "Application/JSON; charset=utf-8", "application/x-amz-json-1.0; charset=UTF-8", None],
)
def test_json_content_types_are_accepted(endpoint, plane, content_type):
    op = plane.probe[0]
    body = probe_request(plane)
    headers = plane.headers(endpoint, op, body, content_type)
    assert ("Content-Type" in headers) is (content_type is not None)
    assert_decoded(send_raw(endpoint, headers, body, path=plane.path(op)))


@pytest.mark.parametrize("plane", PLANES)
@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data; boundary=x",
     "application/cbor", "application/x-amz-json-1.0x", ""],
)
def test_other_content_types_are_refused(endpoint, plane, content_type):
    op = plane.probe[0]
    body = probe_request(plane)
    headers = plane.headers(endpoint, op, body, content_type)
    r = send_raw(endpoint, headers, body, path=plane.path(op))
    message = assert_error(plane, r, "SerializationException")
    assert "Content-Type" in message


@pytest.mark.parametrize("plane", PLANES)
@pytest.mark.parametrize("size", [MAX_BODY_BYTES + 1, 4 * MAX_BODY_BYTES])
def test_oversized_body(endpoint, plane, size):
    body = probe_body(plane, b'"' + b"a" * size + b'"')
    body = body[: size - 2] + b'"}'
    assert len(body) == size
    r = plane.call(endpoint, plane.probe[0], body=body)
    message = assert_error(plane, r, "RequestEntityTooLargeException", 413)
    assert str(MAX_BODY_BYTES) in message


@pytest.mark.parametrize("plane", PLANES)
def test_body_of_exactly_the_limit_is_read(endpoint, plane):
    op, member = plane.probe
    body = probe_body(plane, b'"' + b"a" * MAX_BODY_BYTES + b'"')
    body = body[: MAX_BODY_BYTES - 2] + b'"}'
    assert len(body) == MAX_BODY_BYTES
    message = assert_error(plane, plane.call(endpoint, op, body=body), "ValidationException")
    assert member[:1].lower() + member[1:] in message


def test_two_targets_are_refused(endpoint):
    # Signed over both values (SigV4 joins repeated headers with a comma), so the signature
    # holds: the server must not pick one of the two operations.
    body = b"{}"
    both = f"{TARGET_PREFIX}ListKeys,{TARGET_PREFIX}ListAliases"
    headers = [(k, v) for k, v in sign(endpoint, "ListKeys", body, target=both).items() if k != "X-Amz-Target"]
    headers += [("X-Amz-Target", TARGET_PREFIX + "ListKeys"), ("X-Amz-Target", TARGET_PREFIX + "ListAliases")]
    message = assert_error(CONTROL_PLANE, send_headers(endpoint, headers, body), "UnknownOperationException")
    assert "X-Amz-Target" in message


def test_two_identical_targets_are_refused(endpoint):
    body = b"{}"
    both = f"{TARGET_PREFIX}ListKeys,{TARGET_PREFIX}ListKeys"
    headers = [(k, v) for k, v in sign(endpoint, "ListKeys", body, target=both).items() if k != "X-Amz-Target"]
    headers += [("X-Amz-Target", TARGET_PREFIX + "ListKeys")] * 2
    assert_error(CONTROL_PLANE, send_headers(endpoint, headers, body), "UnknownOperationException")


def test_unsigned_second_target_breaks_the_signature(endpoint):
    body = b"{}"
    headers = list(sign(endpoint, "ListKeys", body).items()) + [("X-Amz-Target", TARGET_PREFIX + "DeleteKey")]
    assert_error(CONTROL_PLANE, send_headers(endpoint, headers, body), "InvalidSignatureException", 403)


def test_two_authorization_headers_are_refused(endpoint):
    body = b"{}"
    headers = sign(endpoint, "ListKeys", body)
    items = list(headers.items()) + [("Authorization", headers["Authorization"])]
    r = send_headers(endpoint, items, body)
    assert r.status in (400, 403), r.body
    assert r.error_type in ("IncompleteSignatureException", "InvalidSignatureException"), r.body


@pytest.mark.parametrize("plane", PLANES)
def test_two_content_types_are_refused(endpoint, plane):
    op = plane.probe[0]
    body = probe_request(plane)
    items = list(plane.headers(endpoint, op, body, plane.content_type).items()) + [("Content-Type", "text/plain")]
    r = send_headers(endpoint, items, body, path=plane.path(op))
    assert 400 <= r.status < 500 and r.error_type, (r.status, r.body)


# ---------------------------------------------------------------------------------------------
# Data-plane paths: the key identifier label, and paths or methods bound to no operation
# ---------------------------------------------------------------------------------------------


def label_cases():
    """(operation, label member) of the data-plane operations with a path label."""
    return [
        pytest.param(op, member, id=f"{op}-{member.wire_path}")
        for op in DATA.operations
        for member in DATA.label_members(op)
    ]


def with_label(op: str, member, raw: str) -> str:
    """The path of `op` with `raw` (sent as is, not encoded again) in the label of `member`."""
    _, template = DATA.http(op)
    return template.replace("{" + member.path[0] + "}", raw)


@pytest.mark.parametrize("op,member", label_cases())
def test_label_breaking_the_pattern(endpoint, op, member):
    label = urllib.parse.quote(pattern_breaker(member.shape), safe="")
    r = DATA_PLANE.call(endpoint, op, DATA.valid_body(op, full=True), path=with_label(op, member, label))
    message = assert_error(DATA_PLANE, r, "ValidationException")
    assert f"at '{member.wire_path}' failed to satisfy constraint: Member must satisfy regular expression" in message


@pytest.mark.parametrize("op,member", label_cases())
@pytest.mark.parametrize("length,side", [(323, "less"), (6, "greater")])
def test_label_of_the_wrong_length(endpoint, op, member, length, side):
    label = urllib.parse.quote(("alias/" + "a" * length)[:length], safe="")
    r = DATA_PLANE.call(endpoint, op, DATA.valid_body(op, full=True), path=with_label(op, member, label))
    message = assert_error(DATA_PLANE, r, "ValidationException")
    assert f"at '{member.wire_path}'" in message
    assert f"Member must have length {side} than or equal to" in message


@pytest.mark.parametrize("op,member", label_cases())
def test_empty_label(endpoint, op, member):
    r = DATA_PLANE.call(endpoint, op, DATA.valid_body(op, full=True), path=with_label(op, member, ""))
    message = assert_error(DATA_PLANE, r, "ValidationException")
    assert f"at '{member.wire_path}'" in message


@pytest.mark.parametrize("op,member", label_cases())
@pytest.mark.parametrize(
    "raw,what",
    [("alias%2", "malformed percent-escape"), ("alias%zzkey", "malformed percent-escape"),
     ("%", "malformed percent-escape"), ("alias%2Fk%FFey", "not UTF-8")],
)
def test_malformed_percent_escape(endpoint, op, member, raw, what):
    r = DATA_PLANE.call(endpoint, op, DATA.valid_body(op, full=True), path=with_label(op, member, raw))
    message = assert_error(DATA_PLANE, r, "ValidationException")
    assert member.path[0] in message and what in message


@pytest.mark.parametrize("op,member", label_cases())
def test_label_decoded_once(endpoint, op, member):
    # `%252F` is `%2F` once decoded: a valid length, but not the model's pattern (no `%`).
    r = DATA_PLANE.call(endpoint, op, DATA.valid_body(op, full=True), path=with_label(op, member, "alias%252Fkey"))
    message = assert_error(DATA_PLANE, r, "ValidationException")
    assert "Value 'alias%2Fkey'" in message


@pytest.mark.parametrize(
    "path",
    ["/keys/alias/payments/encrypt",  # a label not percent-encoded: one segment too many
     "/keys/k/sign", "/keys/k", "/keys", "/mac/generate/extra", "/mac", "/pindata/generate/", "/nowhere",
     "/MAC/GENERATE", "/%6dac/generate", "//mac/generate",
     "/keys/%zz/sign"],  # a malformed label on a path no operation is bound to
)
def test_unknown_path(endpoint, path):
    r = DATA_PLANE.call(endpoint, "GenerateMac", DATA.valid_body("GenerateMac"), path=path)
    message = assert_error(DATA_PLANE, r, "UnknownOperationException", 404)
    assert "No operation is bound to POST" in message


@pytest.mark.parametrize("op", DATA.operations)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_method_on_a_data_path(endpoint, op, method):
    body = b"" if method == "GET" else json.dumps(DATA.valid_body(op)).encode()
    r = DATA_PLANE.call(endpoint, op, body=body, method=method)
    message = assert_error(DATA_PLANE, r, "UnknownOperationException", 404)
    assert f"No operation is bound to {method} " in message


# ---------------------------------------------------------------------------------------------
# Afterwards
# ---------------------------------------------------------------------------------------------


def test_zz_server_survives_the_battery(endpoint, server):
    # Runs last in this module (pytest keeps file order): the server still serves both planes,
    # and nothing that came before panicked it or made it log an internal error.
    client = make_client(endpoint)
    key = client.create_key(
        Exportable=True,
        KeyAttributes={
            "KeyUsage": "TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY",
            "KeyAlgorithm": "AES_128",
            "KeyClass": "SYMMETRIC_KEY",
            "KeyModesOfUse": {"Encrypt": True, "Decrypt": True, "Wrap": True, "Unwrap": True},
        },
    )["Key"]
    assert client.get_key(KeyIdentifier=key["KeyArn"])["Key"]["KeyArn"] == key["KeyArn"]
    assert key["KeyArn"] in [k["KeyArn"] for k in client.list_keys()["Keys"]]
    data = make_client(endpoint, service="payment-cryptography-data")
    attributes = {"Symmetric": {"Mode": "ECB"}}
    plain = "00112233445566778899AABBCCDDEEFF"
    cipher = data.encrypt_data(KeyIdentifier=key["KeyArn"], PlainText=plain, EncryptionAttributes=attributes)
    decrypted = data.decrypt_data(
        KeyIdentifier=key["KeyArn"], CipherText=cipher["CipherText"], DecryptionAttributes=attributes
    )
    assert decrypted["PlainText"].upper() == plain
    log = server.log()
    assert "panicked" not in log
    assert "internal error" not in log
    assert server.running
