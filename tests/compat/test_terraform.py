"""Terraform's hashicorp/aws provider against paycrypt: the lifecycle of `aws_paymentcryptography_key`
and `aws_paymentcryptography_key_alias` (apply, a plan with no changes, in-place updates of tags and
`enabled`, `terraform import` of a key and alias made with boto3, destroy).

The provider comes from a filesystem mirror on this machine, found by the test (a folder holding
`registry.terraform.io/hashicorp/aws`), never downloaded. The provider block is the one the README
shows: `endpoints { paymentcryptography, sts }` and no skip_* flags, since paycrypt answers STS
GetCallerIdentity. Without `terraform` or a mirror the test skips and says why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import DEFAULT_ACCESS_KEY, DEFAULT_SECRET, REGION, attributes

PROVIDER = Path("registry.terraform.io") / "hashicorp" / "aws"
TF_TIMEOUT = 300


def _is_mirror(root: Path) -> bool:
    """A filesystem mirror holding at least one version of hashicorp/aws (a version folder, or a
    packed `terraform-provider-aws_*.zip`), and not a working directory's `.terraform` copy."""
    provider = root / PROVIDER
    if ".terraform" in root.parts or not provider.is_dir():
        return False
    return any(provider.iterdir())


def find_mirror() -> Path | None:
    """The root of a filesystem mirror with hashicorp/aws: $PAYCRYPT_TF_MIRROR if set, else
    Terraform's implied local mirror folders, else a search of the file system."""
    if os.environ.get("PAYCRYPT_TF_MIRROR"):
        root = Path(os.environ["PAYCRYPT_TF_MIRROR"])
        return root if _is_mirror(root) else None
    home = Path.home()
    data_home = Path(os.environ.get("XDG_DATA_HOME", home / ".local" / "share"))
    implied = [
        home / ".terraform.d" / "plugins",
        data_home / "terraform" / "plugins",
        Path("/usr/local/share/terraform/plugins"),
        Path("/usr/share/terraform/plugins"),
    ]
    for root in implied:
        if _is_mirror(root):
            return root
    try:
        found = subprocess.run(
            ["find", "/", "-xdev", "(", "-path", "/proc", "-o", "-path", "/sys", "-o", "-path", "/dev", ")",
             "-prune", "-o", "-path", f"*/{PROVIDER}", "-type", "d", "-print"],
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in found.splitlines():
        root = Path(line).parents[2]
        if _is_mirror(root):
            return root
    return None


@pytest.fixture(scope="module")
def terraform_env(tmp_path_factory) -> dict[str, str]:
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on the PATH")
    mirror = find_mirror()
    if mirror is None:
        pytest.skip("no filesystem mirror holding registry.terraform.io/hashicorp/aws was found "
                    "(set PAYCRYPT_TF_MIRROR to the folder that holds registry.terraform.io)")
    config = tmp_path_factory.mktemp("terraform-cli") / "cli.tfrc"
    config.write_text(f'provider_installation {{\n  filesystem_mirror {{\n    path = {json.dumps(str(mirror))}\n  }}\n}}\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ACCESS", "AWS_SECRET", "AWS_SESSION", "TF_"))}
    env.update(TF_CLI_CONFIG_FILE=str(config), TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")
    return env


class Terraform:
    def __init__(self, workdir: Path, env: dict[str, str], endpoint: str):
        self.workdir = workdir
        self.env = env
        self.endpoint = endpoint

    def run(self, *args: str, expect: int | tuple[int, ...] = 0) -> subprocess.CompletedProcess:
        cmd = ["terraform", *args]
        if args[0] in ("apply", "plan", "destroy", "import"):
            cmd[2:2] = ["-input=false", "-no-color", f"-var=endpoint={self.endpoint}"]
        proc = subprocess.run(cmd, cwd=self.workdir, env=self.env, capture_output=True, text=True,
                              timeout=TF_TIMEOUT, stdin=subprocess.DEVNULL)
        expected = (expect,) if isinstance(expect, int) else expect
        assert proc.returncode in expected, (
            f"terraform {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        )
        return proc

    def write(self, resources: str) -> None:
        (self.workdir / "main.tf").write_text(PROVIDER_BLOCK + resources)

    def apply(self) -> None:
        self.run("apply", "-auto-approve")

    def assert_no_changes(self) -> None:
        proc = self.run("plan", "-detailed-exitcode", expect=(0, 2))
        assert proc.returncode == 0, f"the plan right after apply is not empty:\n{proc.stdout}"

    def planned_changes(self) -> dict[str, set[str]]:
        """{resource address: names of the attributes the plan would change}."""
        self.run("plan", "-out=tfplan", expect=0)
        plan = json.loads(self.run("show", "-json", "tfplan").stdout)
        changes = {}
        for change in plan.get("resource_changes", []):
            if change["change"]["actions"] == ["no-op"]:
                continue
            before, after = change["change"]["before"] or {}, change["change"]["after"] or {}
            changes[change["address"]] = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        return changes


PROVIDER_BLOCK = f"""
terraform {{
  required_providers {{
    aws = {{ source = "hashicorp/aws" }}
  }}
}}

variable "endpoint" {{ type = string }}

provider "aws" {{
  region     = "{REGION}"
  access_key = "{DEFAULT_ACCESS_KEY}"
  secret_key = "{DEFAULT_SECRET}"
  endpoints {{
    paymentcryptography = var.endpoint
    sts                 = var.endpoint
  }}
}}
"""


def hcl_map(values: dict[str, str]) -> str:
    return "{" + ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in values.items()) + "}"


def key_resource(name: str, algorithm: str, usage: str, enabled: bool, tags: dict[str, str]) -> str:
    return f"""
resource "aws_paymentcryptography_key" "{name}" {{
  exportable = true
  enabled    = {str(enabled).lower()}
  key_attributes {{
    key_algorithm = "{algorithm}"
    key_class     = "SYMMETRIC_KEY"
    key_usage     = "{usage}"
    key_modes_of_use {{
      encrypt = true
      decrypt = true
      wrap    = true
      unwrap  = true
    }}
  }}
  tags = {hcl_map(tags)}
}}
"""


def alias_resource(name: str, alias: str, key: str) -> str:
    return f"""
resource "aws_paymentcryptography_key_alias" "{name}" {{
  alias_name = "{alias}"
  key_arn    = aws_paymentcryptography_key.{key}.arn
}}
"""


def tags_of(client, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in client.list_tags_for_resource(ResourceArn=arn)["Tags"]}


def test_key_and_alias_lifecycle(terraform_env, endpoint, client, tmp_path):
    tf = Terraform(tmp_path, terraform_env, endpoint)

    def managed(enabled: bool, tags: dict[str, str]) -> str:
        return (key_resource("pin", "TDES_3KEY", "TR31_P0_PIN_ENCRYPTION_KEY", enabled, tags)
                + alias_resource("pin", "alias/tf-pin", "pin"))

    # apply, then a plan with nothing to do
    tf.write(managed(True, {"Name": "tf"}))
    tf.run("init", "-input=false", "-no-color")
    tf.apply()
    arn = client.get_alias(AliasName="alias/tf-pin")["Alias"]["KeyArn"]
    key = client.get_key(KeyIdentifier=arn)["Key"]
    assert (key["KeyState"], key["Enabled"], key["Exportable"]) == ("CREATE_COMPLETE", True, True)
    assert key["KeyAttributes"]["KeyUsage"] == "TR31_P0_PIN_ENCRYPTION_KEY"
    assert tags_of(client, arn) == {"Name": "tf"}
    tf.assert_no_changes()

    # in-place updates: tags and enabled, each way
    tf.write(managed(False, {"Name": "tf2", "Team": "payments"}))
    assert tf.planned_changes() == {"aws_paymentcryptography_key.pin": {"enabled", "tags", "tags_all"}}
    tf.apply()
    assert client.get_key(KeyIdentifier=arn)["Key"]["Enabled"] is False
    assert tags_of(client, arn) == {"Name": "tf2", "Team": "payments"}
    tf.assert_no_changes()
    tf.write(managed(True, {"Team": "payments"}))
    tf.apply()
    assert client.get_key(KeyIdentifier=arn)["Key"]["Enabled"] is True
    assert tags_of(client, arn) == {"Team": "payments"}
    tf.assert_no_changes()

    # import a key and an alias made outside Terraform
    outside = client.create_key(
        KeyAttributes=attributes(
            "TR31_K0_KEY_ENCRYPTION_KEY", "AES_128", "SYMMETRIC_KEY", "Encrypt", "Decrypt", "Wrap", "Unwrap"
        ),
        Exportable=True,
        Tags=[{"Key": "Owner", "Value": "boto3"}],
    )["Key"]["KeyArn"]
    client.create_alias(AliasName="alias/tf-imported", KeyArn=outside)
    tf.write(managed(True, {"Team": "payments"})
             + key_resource("kek", "AES_128", "TR31_K0_KEY_ENCRYPTION_KEY", True, {"Owner": "boto3"})
             + alias_resource("kek", "alias/tf-imported", "kek"))
    tf.run("import", "aws_paymentcryptography_key.kek", outside)
    tf.run("import", "aws_paymentcryptography_key_alias.kek", "alias/tf-imported")
    # deletion_window_in_days lives only in Terraform's state (no API returns it), as with AWS
    assert tf.planned_changes() in ({}, {"aws_paymentcryptography_key.kek": {"deletion_window_in_days"}})
    tf.apply()
    tf.assert_no_changes()

    # destroy: both keys pending deletion, both aliases gone
    tf.run("destroy", "-auto-approve")
    for key_arn in (arn, outside):
        key = client.get_key(KeyIdentifier=key_arn)["Key"]
        assert key["KeyState"] == "DELETE_PENDING", key
    aliases = {a["AliasName"] for a in client.list_aliases()["Aliases"]}
    assert not aliases & {"alias/tf-pin", "alias/tf-imported"}
