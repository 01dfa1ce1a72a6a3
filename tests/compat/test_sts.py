"""STS GetCallerIdentity on paycrypt's listener (AWS Query protocol, SigV4 scope `sts`), as the
AWS CLI, boto3's sts client and raw requests see it; nothing else of STS is served."""

from __future__ import annotations

import subprocess
import urllib.parse
import xml.etree.ElementTree as ET

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_ACCOUNT,
    DEFAULT_SECRET,
    REGION,
    AwsCli,
    accounts_config,
    aws_binary,
    send_raw,
)

NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"
OTHER_ACCOUNT = "444455556666"


@pytest.fixture(scope="module")
def server(module_server_factory):
    return module_server_factory(
        accounts_config(
            {
                DEFAULT_ACCOUNT: [(DEFAULT_ACCESS_KEY, DEFAULT_SECRET)],
                OTHER_ACCOUNT: [("sts-other", "sts-other-secret")],
            }
        )
    )


def sts_client(endpoint: str, access_key: str = DEFAULT_ACCESS_KEY, secret: str = DEFAULT_SECRET):
    return boto3.session.Session(
        aws_access_key_id=access_key, aws_secret_access_key=secret, region_name=REGION
    ).client("sts", endpoint_url=endpoint, config=Config(retries={"max_attempts": 1}))


def signed_query(endpoint: str, body: str, service: str = "sts", secret: str = DEFAULT_SECRET) -> dict[str, str]:
    request = botocore.awsrequest.AWSRequest(
        method="POST",
        url=endpoint + "/",
        data=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(DEFAULT_ACCESS_KEY, secret), service, REGION).add_auth(
        request
    )
    headers = dict(request.prepare().headers.items())
    headers["Host"] = urllib.parse.urlsplit(endpoint).netloc
    return headers


@pytest.mark.parametrize(
    "access_key,secret,account",
    [(DEFAULT_ACCESS_KEY, DEFAULT_SECRET, DEFAULT_ACCOUNT), ("sts-other", "sts-other-secret", OTHER_ACCOUNT)],
)
def test_boto3_get_caller_identity(endpoint, access_key, secret, account):
    identity = sts_client(endpoint, access_key, secret).get_caller_identity()
    assert identity["Account"] == account
    assert identity["Arn"] == f"arn:aws:iam::{account}:root"
    assert identity["UserId"] == account
    assert identity["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert identity["ResponseMetadata"]["RequestId"]


def test_aws_cli_get_caller_identity(endpoint):
    env = AwsCli(endpoint).env()
    proc = subprocess.run(
        [aws_binary(), "sts", "get-caller-identity", "--endpoint-url", endpoint, "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    assert f'"Account": "{DEFAULT_ACCOUNT}"' in proc.stdout
    assert f'"Arn": "arn:aws:iam::{DEFAULT_ACCOUNT}:root"' in proc.stdout


def test_one_endpoint_url_serves_both_services(endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    session = boto3.session.Session(
        aws_access_key_id=DEFAULT_ACCESS_KEY, aws_secret_access_key=DEFAULT_SECRET, region_name=REGION
    )
    assert session.client("sts").get_caller_identity()["Account"] == DEFAULT_ACCOUNT
    assert "Keys" in session.client("payment-cryptography").list_keys()


def test_response_is_sts_xml(endpoint):
    body = "Action=GetCallerIdentity&Version=2011-06-15"
    r = send_raw(endpoint, signed_query(endpoint, body), body.encode())
    assert r.status == 200
    assert r.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(r.body)
    assert root.tag == NS + "GetCallerIdentityResponse"
    result = root.find(NS + "GetCallerIdentityResult")
    assert result.find(NS + "Account").text == DEFAULT_ACCOUNT
    assert root.find(f"{NS}ResponseMetadata/{NS}RequestId").text == r.headers["x-amzn-requestid"]


def test_unknown_action_is_invalid_action(endpoint):
    body = "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fx"
    r = send_raw(endpoint, signed_query(endpoint, body), body.encode())
    assert r.status == 400
    root = ET.fromstring(r.body)
    assert root.tag == NS + "ErrorResponse"
    assert root.find(f"{NS}Error/{NS}Type").text == "Sender"
    assert root.find(f"{NS}Error/{NS}Code").text == "InvalidAction"
    assert "AssumeRole" in root.find(f"{NS}Error/{NS}Message").text
    assert root.find(NS + "RequestId").text


def test_boto3_sees_invalid_action(endpoint):
    with pytest.raises(ClientError) as e:
        sts_client(endpoint).get_session_token()
    assert e.value.response["Error"]["Code"] == "InvalidAction"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize(
    "service,secret,code",
    [
        ("payment-cryptography", DEFAULT_SECRET, "SignatureDoesNotMatch"),  # only the sts scope
        ("sts", "wrong-secret", "SignatureDoesNotMatch"),
    ],
)
def test_signature_is_checked(endpoint, service, secret, code):
    body = "Action=GetCallerIdentity&Version=2011-06-15"
    r = send_raw(endpoint, signed_query(endpoint, body, service=service, secret=secret), body.encode())
    assert r.status == 403
    assert ET.fromstring(r.body).find(f"{NS}Error/{NS}Code").text == code


def test_unknown_access_key(endpoint):
    with pytest.raises(ClientError) as e:
        sts_client(endpoint, "nobody", "nothing").get_caller_identity()
    assert e.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_unsigned_request_is_refused(endpoint):
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    r = send_raw(endpoint, {"Content-Type": "application/x-www-form-urlencoded"}, body)
    assert r.status == 403
    assert ET.fromstring(r.body).find(f"{NS}Error/{NS}Code").text == "MissingAuthenticationToken"
