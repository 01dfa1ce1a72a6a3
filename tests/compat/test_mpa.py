"""Multi-party approval against the real binary: boto3 associates a team and imports root
certificates, and the operator decides the approval sessions with `paycrypt admin mpa` on the same
SQLite data directory while the server runs. An approved root is then used as the root of a
TrustedCertificatePublicKey import; a denied one is refused when used."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from conftest import DEFAULT_ACCOUNT, REGION, attributes, error_code, error_message, run_paycrypt
from test_exchange import issue, make_ca

TEAM = f"arn:aws:mpa:{REGION}:{DEFAULT_ACCOUNT}:approval-team/payments-leads"
ACTION = "IMPORT_ROOT_PUBLIC_KEY_CERTIFICATE"
S0 = "TR31_S0_ASYMMETRIC_KEY_FOR_DIGITAL_SIGNATURE"


def admin(server, *args: str) -> list[dict]:
    done = run_paycrypt("admin", "mpa", *args, "--data-dir", str(server.data_dir))
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def import_root(client, ca, comment: str):
    return client.import_key(
        KeyMaterial={
            "RootCertificatePublicKey": {
                "KeyAttributes": attributes(S0, "RSA_2048", "PUBLIC_KEY", "Verify"),
                "PublicKeyCertificate": ca.wire,
            }
        },
        RequesterComment=comment,
    )["Key"]


def import_trusted(client, leaf, ca_arn: str):
    return client.import_key(
        KeyMaterial={
            "TrustedCertificatePublicKey": {
                "KeyAttributes": attributes(S0, "RSA_2048", "PUBLIC_KEY", "Verify"),
                "PublicKeyCertificate": leaf.wire,
                "CertificateAuthorityPublicKeyIdentifier": ca_arn,
            }
        }
    )["Key"]


def test_mpa_workflow_from_association_to_approved_and_denied_keys(server, client):
    association = client.associate_mpa_team(Action=ACTION, MpaTeamArn=TEAM, RequesterComment="dual control")
    assert association["MpaTeamAssociation"]["AssociationState"] == "ACTIVE"
    assert client.get_mpa_team_association(Action=ACTION)["MpaTeamAssociation"]["MpaTeamArn"] == TEAM
    ca = make_ca(2048, "MPA test CA")
    leaf = issue(ca, 2048, "MPA test leaf")

    pending = import_root(client, ca, "acquirer root")
    assert pending["KeyState"] == "CREATE_IN_PROGRESS"
    session = pending["MpaStatus"]
    assert session["Status"] == "PENDING"
    assert session["MpaSessionArn"].startswith(f"arn:aws:mpa:{REGION}:{DEFAULT_ACCOUNT}:session/payments-leads/")
    with pytest.raises(ClientError) as e:
        import_trusted(client, leaf, pending["KeyArn"])
    assert error_code(e) == "ValidationException"
    assert "approval is pending" in error_message(e)

    listed = admin(server, "list")
    assert [s["MpaSessionArn"] for s in listed] == [session["MpaSessionArn"]]
    assert listed[0]["RequesterComment"] == "acquirer root"
    assert listed[0]["Request"] == f"ImportKey {pending['KeyArn']}"
    decided = admin(server, "approve", session["MpaSessionArn"])
    assert decided[0]["Status"] == "APPROVED"

    approved = client.get_key(KeyIdentifier=pending["KeyArn"])["Key"]
    assert approved["KeyState"] == "CREATE_COMPLETE"
    assert approved["MpaStatus"]["Status"] == "APPROVED"
    trusted = import_trusted(client, leaf, pending["KeyArn"])
    assert trusted["KeyState"] == "CREATE_COMPLETE"

    # Deciding twice fails with a message and a non-zero exit.
    again = run_paycrypt("admin", "mpa", "deny", session["MpaSessionArn"], "--data-dir", str(server.data_dir))
    assert again.returncode != 0
    assert "APPROVED" in again.stderr

    denied = import_root(client, ca, "second root")
    arn = denied["MpaStatus"]["MpaSessionArn"]
    admin(server, "deny", arn, "--message", "not on the change calendar")
    key = client.get_key(KeyIdentifier=denied["KeyArn"])["Key"]
    assert key["KeyState"] == "CREATE_IN_PROGRESS"
    assert key["MpaStatus"]["Status"] == "FAILED"
    assert key["MpaStatus"]["StatusMessage"] == "not on the change calendar"
    with pytest.raises(ClientError) as e:
        import_trusted(client, leaf, denied["KeyArn"])
    assert error_code(e) == "ValidationException"
    assert "FAILED" in error_message(e)
    assert client.delete_key(KeyIdentifier=denied["KeyArn"])["Key"]["KeyState"] == "DELETE_PENDING"
    assert admin(server, "list") == []
    assert len(admin(server, "list", "--all")) == 2

    # Removing the team needs its approval too.
    removal = client.disassociate_mpa_team(Action=ACTION)["MpaTeamAssociation"]
    assert removal["AssociationState"] == "DELETE_PENDING"
    admin(server, "approve", removal["MpaStatus"]["MpaSessionArn"])
    with pytest.raises(ClientError) as e:
        client.get_mpa_team_association(Action=ACTION)
    assert error_code(e) == "ResourceNotFoundException"
