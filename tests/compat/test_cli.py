"""The AWS CLI (`aws payment-cryptography`) against paycrypt, with --endpoint-url and with
AWS_ENDPOINT_URL_PAYMENT_CRYPTOGRAPHY; credentials and region from the environment only
(AWS_CONFIG_FILE=/dev/null)."""

from __future__ import annotations

import json
import re

import pytest

from conftest import DEFAULT_ACCOUNT, REGION

KEY_ARN_RE = re.compile(rf"^arn:aws:payment-cryptography:{REGION}:{DEFAULT_ACCOUNT}:key/[a-z0-9]{{16}}$")

K1_ATTRIBUTES = {
    "KeyUsage": "TR31_K1_KEY_BLOCK_PROTECTION_KEY",
    "KeyAlgorithm": "AES_256",
    "KeyClass": "SYMMETRIC_KEY",
    "KeyModesOfUse": {"Encrypt": True, "Decrypt": True, "Wrap": True, "Unwrap": True},
}


@pytest.fixture(scope="module")
def cli_key(aws_cli):
    result = aws_cli.run(
        "create-key",
        "--key-attributes", json.dumps(K1_ATTRIBUTES),
        "--exportable",
        "--tags", "Key=created-by,Value=cli",
    )
    return result.json()["Key"]


def test_create_key(cli_key, client):
    assert KEY_ARN_RE.match(cli_key["KeyArn"])
    assert cli_key["KeyState"] == "CREATE_COMPLETE"
    assert cli_key["KeyOrigin"] == "AWS_PAYMENT_CRYPTOGRAPHY"
    assert cli_key["Exportable"] is True
    assert cli_key["KeyCheckValueAlgorithm"] == "CMAC"
    assert re.fullmatch(r"[0-9A-F]{6}", cli_key["KeyCheckValue"])
    modes = cli_key["KeyAttributes"]["KeyModesOfUse"]
    assert len(modes) == 9 and modes["Wrap"] is True and modes["Sign"] is False
    # the CLI's key is on the server boto3 talks to
    assert client.get_key(KeyIdentifier=cli_key["KeyArn"])["Key"]["KeyCheckValue"] == cli_key["KeyCheckValue"]


def test_get_key(aws_cli, cli_key):
    key = aws_cli.run("get-key", "--key-identifier", cli_key["KeyArn"]).json()["Key"]
    assert key["KeyArn"] == cli_key["KeyArn"]
    assert key["KeyCheckValue"] == cli_key["KeyCheckValue"]
    assert key["KeyAttributes"] == cli_key["KeyAttributes"]


def test_list_keys(aws_cli, cli_key):
    # the CLI paginates itself; a small page size makes it follow NextToken
    listed = aws_cli.run("list-keys", "--page-size", "1").json()["Keys"]
    arns = [k["KeyArn"] for k in listed]
    assert cli_key["KeyArn"] in arns
    assert len(arns) == len(set(arns))


def test_create_alias(aws_cli, cli_key):
    alias = aws_cli.run("create-alias", "--alias-name", "alias/cli-alias", "--key-arn", cli_key["KeyArn"]).json()["Alias"]
    assert alias == {"AliasName": "alias/cli-alias", "KeyArn": cli_key["KeyArn"]}
    key = aws_cli.run("get-key", "--key-identifier", "alias/cli-alias").json()["Key"]
    assert key["KeyArn"] == cli_key["KeyArn"]


def test_tag_resource(aws_cli, cli_key):
    result = aws_cli.run("tag-resource", "--resource-arn", cli_key["KeyArn"], "--tags", "Key=team,Value=payments", "Key=env,Value=dev")
    assert result.stdout.strip() == ""
    tags = aws_cli.run("list-tags-for-resource", "--resource-arn", cli_key["KeyArn"]).json()["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"created-by": "cli", "team": "payments", "env": "dev"}


def test_endpoint_from_environment(aws_cli, cli_key):
    key = aws_cli.run("get-key", "--key-identifier", cli_key["KeyArn"], endpoint_via_env=True).json()["Key"]
    assert key["KeyCheckValue"] == cli_key["KeyCheckValue"]
    created = aws_cli.run(
        "create-key", "--key-attributes", json.dumps(K1_ATTRIBUTES), "--no-exportable", endpoint_via_env=True
    ).json()["Key"]
    assert created["Exportable"] is False
    listed = aws_cli.run("list-keys", endpoint_via_env=True).json()["Keys"]
    assert created["KeyArn"] in [k["KeyArn"] for k in listed]


def test_cli_reports_service_errors(aws_cli):
    missing = f"arn:aws:payment-cryptography:{REGION}:{DEFAULT_ACCOUNT}:key/bbbbbbbbbbbbbbbb"
    result = aws_cli.run("get-key", "--key-identifier", missing, check=False)
    assert result.returncode != 0
    assert "ResourceNotFoundException" in result.stderr
    result = aws_cli.run("create-alias", "--alias-name", "alias/cli-alias", check=False)
    assert result.returncode != 0
    assert "ConflictException" in result.stderr


def test_cli_with_bad_credentials(aws_cli):
    from conftest import AwsCli

    bad = AwsCli(aws_cli.endpoint, access_key="test", secret="wrong")
    result = bad.run("list-keys", check=False)
    assert result.returncode != 0
    assert "InvalidSignatureException" in result.stderr
