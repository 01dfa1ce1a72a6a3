"""Authentication in depth, with raw SigV4 (botocore's signers) and boto3:

* a request replayed after the 5-minute window is refused, and its date cannot be refreshed;
* a request signed for one region never reaches a key of another region, whatever ARN it names;
* a credential removed from the config file is refused after SIGHUP (and after a restart), and a
  broken config file on SIGHUP leaves the previous credentials in force;
* presigned requests (signature in the query string) are refused once expired or when
  X-Amz-Expires was changed;
* a request dated too far in the future says so.
"""

from __future__ import annotations

import json
import signal
import time
import urllib.parse
from datetime import datetime, timedelta, timezone
from typing import Any
from unittest import mock

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.exceptions
import pytest

from conftest import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_ACCOUNT,
    DEFAULT_SECRET,
    REGION,
    SERVICE,
    TARGET_PREFIX,
    RawResponse,
    accounts_config,
    call_raw,
    key_count,
    make_client,
    send_raw,
    sign,
    tdes_key,
)

CREATE_KEY = {
    "KeyAttributes": {
        "KeyUsage": "TR31_K0_KEY_ENCRYPTION_KEY",
        "KeyAlgorithm": "AES_128",
        "KeyClass": "SYMMETRIC_KEY",
        "KeyModesOfUse": {"Encrypt": True, "Decrypt": True, "Wrap": True, "Unwrap": True},
    },
    "Exportable": True,
}


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def refused(response: RawResponse, code: str, *needles: str) -> str:
    assert 400 <= response.status < 500, (response.status, response.body)
    assert response.error_type == code, (response.headers, response.body)
    message = response.json()["message"]
    for needle in needles:
        assert needle in message, message
    return message


# --------------------------------------------------------------------------------------------
# Replay after the clock-skew window
# --------------------------------------------------------------------------------------------


def test_replay_after_five_minutes_is_refused(server_factory):
    server = server_factory()
    endpoint = server.endpoint
    client = make_client(endpoint)
    body = json.dumps(CREATE_KEY).encode()

    # a request captured 6 minutes ago (signed then) and sent now
    captured = sign(endpoint, "CreateKey", body, when=utc_now() - timedelta(minutes=6))
    refused(send_raw(endpoint, captured, body), "InvalidSignatureException", "Signature expired")

    # refreshing its date breaks the signature: the date is signed
    refreshed = dict(captured, **{"X-Amz-Date": utc_now().strftime("%Y%m%dT%H%M%SZ")})
    r = send_raw(endpoint, refreshed, body)
    assert r.status in (400, 403) and r.error_type in (
        "InvalidSignatureException",  # the same day: the signature does not match
        "IncompleteSignatureException",  # across midnight: the scope's day does not match
    ), (r.status, r.body)
    assert key_count(client) == 0

    # the same request signed now is served once sent
    fresh = sign(endpoint, "CreateKey", body)
    assert send_raw(endpoint, fresh, body).status == 200
    assert key_count(client) == 1


def test_future_dated_request_says_the_time_is_in_the_future(endpoint):
    r = call_raw(endpoint, "ListKeys", {}, when=utc_now() + timedelta(minutes=10))
    refused(r, "InvalidSignatureException", "Signature not yet current", "too far in the future")


# --------------------------------------------------------------------------------------------
# Regions: the signing region is the only one served
# --------------------------------------------------------------------------------------------


def test_a_request_signed_for_another_region_never_reaches_the_key(server_factory):
    server = server_factory()
    east = make_client(server.endpoint, region="us-east-1")
    west = make_client(server.endpoint, region="us-west-2")
    key = tdes_key(east)
    arn = key["KeyArn"]
    assert f":us-east-1:{DEFAULT_ACCOUNT}:key/" in arn
    east.create_alias(AliasName="alias/east-only", KeyArn=arn)

    calls = {
        "GetKey": lambda: west.get_key(KeyIdentifier=arn),
        "DeleteKey": lambda: west.delete_key(KeyIdentifier=arn, DeleteKeyInDays=3),
        "StopKeyUsage": lambda: west.stop_key_usage(KeyIdentifier=arn),
        "TagResource": lambda: west.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}]),
        "ListTagsForResource": lambda: west.list_tags_for_resource(ResourceArn=arn),
        "CreateAlias": lambda: west.create_alias(AliasName="alias/west", KeyArn=arn),
        "ExportKey": lambda: west.export_key(
            ExportKeyIdentifier=arn, KeyMaterial={"Tr31KeyBlock": {"WrappingKeyIdentifier": arn}}
        ),
        "GetAlias": lambda: west.get_alias(AliasName="alias/east-only"),
        "StopKeyUsage by alias": lambda: west.stop_key_usage(KeyIdentifier="alias/east-only"),
    }
    for name, call in calls.items():
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            call()
        assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException", name
    assert west.list_keys()["Keys"] == []
    assert west.list_aliases()["Aliases"] == []

    # the same ARN, signed for us-east-1 but sent raw with a us-west-2 scope: not found either
    r = call_raw(server.endpoint, "GetKey", {"KeyIdentifier": arn}, region="us-west-2")
    refused(r, "ResourceNotFoundException")

    # nothing changed in us-east-1
    after = east.get_key(KeyIdentifier=arn)["Key"]
    assert (after["KeyState"], after["Enabled"]) == ("CREATE_COMPLETE", True)
    assert east.list_tags_for_resource(ResourceArn=arn)["Tags"] == []
    assert [a["AliasName"] for a in east.list_aliases()["Aliases"]] == ["alias/east-only"]


# --------------------------------------------------------------------------------------------
# Removed credentials: SIGHUP reload and restart
# --------------------------------------------------------------------------------------------


def wait_for(predicate, what: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def list_keys_code(endpoint: str, access_key: str, secret: str) -> str:
    """`ok` or the error code of a ListKeys signed with this credential."""
    try:
        make_client(endpoint, access_key=access_key, secret=secret).list_keys()
        return "ok"
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]


def test_removed_credential_is_refused_after_sighup(server_factory):
    both = accounts_config({DEFAULT_ACCOUNT: [(DEFAULT_ACCESS_KEY, DEFAULT_SECRET), ("temp", "temp-secret")]})
    server = server_factory(config=both)
    endpoint = server.endpoint
    temp = make_client(endpoint, access_key="temp", secret="temp-secret")
    arn = tdes_key(temp)["KeyArn"]

    # the operator removes `temp` and reloads
    server.config.write_text(accounts_config({DEFAULT_ACCOUNT: [(DEFAULT_ACCESS_KEY, DEFAULT_SECRET)]}))
    server.proc.send_signal(signal.SIGHUP)
    wait_for(
        lambda: list_keys_code(endpoint, "temp", "temp-secret") == "UnrecognizedClientException",
        "the removed credential to be refused",
    )
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        temp.create_key(**CREATE_KEY)
    assert excinfo.value.response["Error"]["Code"] == "UnrecognizedClientException"
    # the same signature check a presigned request goes through refuses it too
    refused(call_raw(endpoint, "ListKeys", {}, access_key="temp", secret="temp-secret"), "UnrecognizedClientException")
    # the account and its keys are untouched; the other credential still works
    test = make_client(endpoint)
    assert [k["KeyArn"] for k in test.list_keys()["Keys"]] == [arn]
    assert server.running

    # a new credential arrives the same way
    server.config.write_text(
        accounts_config({DEFAULT_ACCOUNT: [(DEFAULT_ACCESS_KEY, DEFAULT_SECRET), ("next", "next-secret")]})
    )
    server.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: list_keys_code(endpoint, "next", "next-secret") == "ok", "the new credential")

    # a config file that does not load changes nothing
    server.config.write_text("[[accounts]]\nid = 'oops'\n")
    server.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "accounts not reloaded" in server.log(), "the reload error in the log")
    assert list_keys_code(endpoint, "next", "next-secret") == "ok"
    assert list_keys_code(endpoint, DEFAULT_ACCESS_KEY, DEFAULT_SECRET) == "ok"
    assert server.running

    # a restart on the same data dir with `temp` still absent refuses it as well
    server.config.write_text(accounts_config({DEFAULT_ACCOUNT: [(DEFAULT_ACCESS_KEY, DEFAULT_SECRET)]}))
    server.stop_ok()
    server.restart()
    assert list_keys_code(server.endpoint, "temp", "temp-secret") == "UnrecognizedClientException"
    assert [k["KeyArn"] for k in make_client(server.endpoint).list_keys()["Keys"]] == [arn]


# --------------------------------------------------------------------------------------------
# Presigned requests (signature in the query string)
# --------------------------------------------------------------------------------------------


class JsonBodyQueryAuth(botocore.auth.SigV4QueryAuth):
    """botocore's presigner, with the JSON body left where it is: SigV4QueryAuth moves body
    parameters into the query string, which suits only form-encoded (query protocol) APIs. The
    body's SHA-256 is signed as the payload hash either way."""

    def _modify_request_before_signing(self, request):
        body, request.data = request.data, b""
        super()._modify_request_before_signing(request)
        request.data = body


def presign(endpoint: str, operation: str, payload: Any, expires: int, when: datetime | None = None) -> tuple[str, dict[str, str], bytes]:
    """(path with query, headers, body) of a request presigned by botocore's SigV4QueryAuth."""
    body = json.dumps(payload).encode()
    request = botocore.awsrequest.AWSRequest(
        method="POST",
        url=endpoint + "/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": TARGET_PREFIX + operation},
    )
    credentials = botocore.credentials.Credentials(DEFAULT_ACCESS_KEY, DEFAULT_SECRET)
    auth = JsonBodyQueryAuth(credentials, SERVICE, REGION, expires=expires)
    with mock.patch("botocore.auth.get_current_datetime", return_value=when or utc_now()):
        auth.add_auth(request)
    prepared = request.prepare()
    url = urllib.parse.urlsplit(prepared.url)
    assert url.query.startswith("X-Amz-Algorithm=") and "X-Amz-Signature=" in url.query
    assert "Authorization" not in prepared.headers and prepared.body == body
    headers = dict(prepared.headers.items())
    headers["Host"] = url.netloc
    return f"{url.path}?{url.query}", headers, body


def send_presigned(endpoint: str, path: str, headers: dict[str, str], body: bytes) -> RawResponse:
    return send_raw(endpoint, headers, body, path=path)


def test_presigned_requests_expire_and_cannot_be_extended(server_factory):
    server = server_factory()
    endpoint = server.endpoint
    client = make_client(endpoint)

    # a fresh presigned request is served
    path, headers, body = presign(endpoint, "CreateKey", CREATE_KEY, expires=60)
    assert send_presigned(endpoint, path, headers, body).status == 200
    assert key_count(client) == 1

    # signed 2 minutes ago for 60 seconds: expired
    path, headers, body = presign(endpoint, "CreateKey", CREATE_KEY, expires=60, when=utc_now() - timedelta(minutes=2))
    refused(send_presigned(endpoint, path, headers, body), "InvalidSignatureException", "Signature expired")
    # ... and stretching its X-Amz-Expires to an hour breaks the signature
    assert "X-Amz-Expires=60&" in path or path.endswith("X-Amz-Expires=60")
    stretched = path.replace("X-Amz-Expires=60", "X-Amz-Expires=3600")
    refused(
        send_presigned(endpoint, stretched, headers, body),
        "InvalidSignatureException",
        "signature we calculated does not match",
    )
    # a longer validity than 7 days is malformed whatever the signature
    too_long = path.replace("X-Amz-Expires=60", "X-Amz-Expires=604801")
    r = send_presigned(endpoint, too_long, headers, body)
    assert r.status in (400, 403) and r.error_type in ("IncompleteSignatureException", "InvalidSignatureException")

    # the body is covered too: a presigned request cannot carry another payload
    path, headers, body = presign(endpoint, "ListKeys", {}, expires=300)
    other = json.dumps(CREATE_KEY).encode()
    tampered = dict(headers, **{"X-Amz-Target": TARGET_PREFIX + "CreateKey"})
    refused(send_presigned(endpoint, path, tampered, other), "InvalidSignatureException")
    assert send_presigned(endpoint, path, headers, body).status == 200

    assert key_count(client) == 1
