"""Several nodes on one PostgreSQL database: two `paycrypt serve` processes on different ports,
started with the same `--database-url` and the same master key, driven through boto3.

* A key created on one node is read, exported (TR-31, unwrapped by psec under a KEK whose clear
  value the test chose) and deleted through the other.
* Concurrent CreateAlias of the same name on both nodes: exactly one winner, one ConflictException.
* An export token from GetParametersForExport on one node serves ExportKey on the other, and the
  block opens at a real KRD (the independent TR-34 implementation).
* Both nodes asking for an account's CA at the same moment agree on one CA.
* A node with another master key refuses to start against the database.

The database is PostgreSQL from `PAYCRYPT_TEST_DATABASE_URL` (an administrator's URL, as
`scripts/postgres-test-server start` prints); each module run creates its own database and drops it
afterwards. Without that variable the tests are skipped, except under CI, where they fail.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import threading
import urllib.parse
from pathlib import Path
from typing import Any

import psec
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization

from conftest import DEFAULT_ACCOUNT, PAYCRYPT_BIN, accounts_config, attributes, make_client, remember_secret
from test_exchange import (
    ALL4,
    K0,
    export_tr34,
    fresh_key,
    from_wire,
    import_cryptogram,
    import_root,
    issue,
    kcv,
    make_ca,
    open_tr34,
)

pytestmark = pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")

DATABASE_URL_VAR = "PAYCRYPT_TEST_DATABASE_URL"
# A third account that nothing touches before the CA race.
FRESH_ACCOUNT, FRESH_KEY, FRESH_SECRET = "777788889999", "fresh", "fresh-secret"


def _psql() -> str:
    found = shutil.which("psql") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))[-1:]), None)
    if found is None:
        pytest.fail("psql not found: install PostgreSQL's client (scripts/postgres-test-server does)")
    return found


def _admin(url: str, sql: str) -> None:
    subprocess.run([_psql(), url, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True, capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def database_url() -> Any:
    admin_url = os.environ.get(DATABASE_URL_VAR)
    if not admin_url:
        if os.environ.get("CI"):
            pytest.fail(f"{DATABASE_URL_VAR} is not set: .ci/run starts PostgreSQL for these tests")
        pytest.skip(f"{DATABASE_URL_VAR} is not set")
    name = f"paycrypt_multinode_{secrets.token_hex(6)}"
    _admin(admin_url, f"CREATE DATABASE {name}")
    parts = urllib.parse.urlsplit(admin_url)
    yield urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    _admin(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def master_key_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("master") / "master.key"
    path.write_text(secrets.token_hex(32) + "\n")
    path.chmod(0o600)
    return path


CONFIG = accounts_config(
    {
        DEFAULT_ACCOUNT: [("test", "test")],
        FRESH_ACCOUNT: [(FRESH_KEY, FRESH_SECRET)],
    }
)


@pytest.fixture(scope="module")
def nodes(module_server_factory, database_url, master_key_file):
    """Two nodes, each with its own data dir, sharing the database and the master key."""
    return [
        module_server_factory(
            config=CONFIG, master_key_file=master_key_file, extra_args=["--database-url", database_url]
        )
        for _ in range(2)
    ]


@pytest.fixture(scope="module")
def clients(nodes):
    return [make_client(node.endpoint) for node in nodes]


def test_nodes_are_distinct_processes_on_distinct_ports(nodes):
    assert nodes[0].endpoint != nodes[1].endpoint
    assert nodes[0].proc.pid != nodes[1].proc.pid


def test_a_key_made_on_one_node_is_read_exported_and_deleted_on_the_other(clients):
    a, b = clients
    kek_clear = fresh_key("AES_128")
    kek = import_cryptogram(a, kek_clear, attributes(K0, "AES_128", "SYMMETRIC_KEY", *ALL4), False, "RSA_3072")
    key = a.create_key(
        KeyAttributes=attributes("TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY", "AES_128", "SYMMETRIC_KEY", *ALL4),
        Exportable=True,
    )["Key"]

    seen = b.get_key(KeyIdentifier=key["KeyArn"])["Key"]
    assert seen["KeyCheckValue"] == key["KeyCheckValue"]
    assert seen["KeyAttributes"] == key["KeyAttributes"]
    listed = {k["KeyArn"] for page in b.get_paginator("list_keys").paginate() for k in page["Keys"]}
    assert {key["KeyArn"], kek["KeyArn"]} <= listed

    wrapped = b.export_key(
        ExportKeyIdentifier=key["KeyArn"],
        KeyMaterial={"Tr31KeyBlock": {"WrappingKeyIdentifier": kek["KeyArn"]}},
    )["WrappedKey"]
    header, clear = psec.tr31.unwrap(kek_clear, wrapped["KeyMaterial"])
    remember_secret(kek_clear)
    remember_secret(clear)
    assert header.version_id == "D"
    assert kcv("AES_128", clear) == key["KeyCheckValue"] == wrapped["KeyCheckValue"]

    deleted = b.delete_key(KeyIdentifier=key["KeyArn"], DeleteKeyInDays=3)["Key"]
    assert deleted["KeyState"] == "DELETE_PENDING"
    assert a.get_key(KeyIdentifier=key["KeyArn"])["Key"]["KeyState"] == "DELETE_PENDING"
    restored = a.restore_key(KeyIdentifier=key["KeyArn"])["Key"]
    assert restored["KeyState"] == "CREATE_COMPLETE"
    assert b.get_key(KeyIdentifier=key["KeyArn"])["Key"]["KeyState"] == "CREATE_COMPLETE"


def _race(calls: list) -> list[Any]:
    """Runs the calls at the same moment, one thread each; returns results or exceptions."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except Exception as e:  # noqa: BLE001 - the test inspects what each call raised
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_concurrent_create_alias_on_both_nodes_has_one_winner(clients):
    a, b = clients
    key = a.create_key(
        KeyAttributes=attributes("TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY", "AES_128", "SYMMETRIC_KEY", *ALL4),
        Exportable=True,
    )["Key"]
    for round_ in range(20):
        name = f"alias/race-{round_}-{secrets.token_hex(4)}"
        results = _race([lambda c=c: c.create_alias(AliasName=name, KeyArn=key["KeyArn"]) for c in (a, b)])
        winners = [r for r in results if isinstance(r, dict)]
        losers = [r for r in results if isinstance(r, ClientError)]
        assert len(winners) == 1 and len(losers) == 1, results
        assert error_code_of(losers[0]) == "ConflictException"
        assert winners[0]["Alias"] == {"AliasName": name, "KeyArn": key["KeyArn"]}
        for c in (a, b):
            assert c.get_alias(AliasName=name)["Alias"]["KeyArn"] == key["KeyArn"]
    names = [al["AliasName"] for al in b.list_aliases(KeyArn=key["KeyArn"], MaxResults=100)["Aliases"]]
    assert len(names) == len(set(names)) == 20


def error_code_of(e: ClientError) -> str:
    return e.response["Error"]["Code"]


def test_an_export_token_from_one_node_serves_the_other(clients):
    a, b = clients
    ca = make_ca(2048, "multinode KRD CA")
    krd = issue(ca, 2048, "multinode KRD")
    ca_arn = import_root(a, ca)
    key = a.create_key(KeyAttributes=attributes(K0, "TDES_3KEY", "SYMMETRIC_KEY", *ALL4), Exportable=True)["Key"]

    params = a.get_parameters_for_export(KeyMaterialType="TR34_KEY_BLOCK", SigningKeyAlgorithm="RSA_2048")
    nonce = secrets.token_hex(8).upper()
    wrapped = export_tr34(b, key["KeyArn"], ca_arn, krd.wire, params["ExportToken"], nonce)
    assert wrapped["WrappedKeyMaterialFormat"] == "TR34_KEY_BLOCK"
    opened = open_tr34(wrapped["KeyMaterial"], krd, from_wire(params["SigningKeyCertificate"]), nonce, key["KeyCheckValue"])
    assert kcv("TDES_3KEY", bytes.fromhex(opened["key"])) == key["KeyCheckValue"]
    remember_secret(bytes.fromhex(opened["key"]))

    # The other node also hands out the same token when asked to reuse the last one.
    reused = b.get_parameters_for_export(
        KeyMaterialType="TR34_KEY_BLOCK", SigningKeyAlgorithm="RSA_2048", ReuseLastGeneratedToken=True
    )
    assert reused["ExportToken"] == params["ExportToken"]
    assert reused["SigningKeyCertificate"] == params["SigningKeyCertificate"]


def test_both_nodes_agree_on_one_account_ca(nodes):
    fresh = [make_client(node.endpoint, FRESH_KEY, FRESH_SECRET) for node in nodes]
    results = _race(
        [
            lambda c=c: c.get_parameters_for_export(KeyMaterialType="TR34_KEY_BLOCK", SigningKeyAlgorithm="RSA_2048")
            for c in fresh
        ]
    )
    assert all(isinstance(r, dict) for r in results), results
    chains = {r["SigningKeyCertificateChain"] for r in results}
    assert len(chains) == 1, "two nodes created two CAs for one account"
    ca = from_wire(chains.pop())
    for r in results:
        from_wire(r["SigningKeyCertificate"]).verify_directly_issued_by(ca)


def test_a_node_with_another_master_key_refuses_the_database(nodes, database_url, tmp_path):
    other_key = tmp_path / "other.key"
    other_key.write_text(secrets.token_hex(32) + "\n")
    other_key.chmod(0o600)
    result = subprocess.run(
        [
            str(PAYCRYPT_BIN),
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            str(tmp_path / "data"),
            "--master-key-file",
            str(other_key),
            "--database-url",
            database_url,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        env={k: v for k, v in os.environ.items() if not k.startswith("PAYCRYPT_")},
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode != 0
    assert "master key does not match" in result.stderr, result.stderr
    assert "listening" not in result.stdout


def _psql_rows(url: str, sql: str) -> list[str]:
    out = subprocess.run([_psql(), url, "-Atc", sql], check=True, capture_output=True, text=True, timeout=30)
    return out.stdout.split()


def _with_query(url: str, **params: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(params)))


def test_a_node_reaches_the_database_over_verified_tls(module_server_factory, clients, database_url, master_key_file, tmp_path):
    ca_file = os.environ.get("PAYCRYPT_TEST_DATABASE_CA")
    if not ca_file:
        pytest.skip("PAYCRYPT_TEST_DATABASE_CA is not set (scripts/postgres-test-server sets it)")
    key = clients[0].create_key(
        KeyAttributes=attributes("TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY", "AES_128", "SYMMETRIC_KEY", *ALL4),
        Exportable=True,
    )["Key"]

    # A CA that did not issue the database's certificate: verification fails and the node stops.
    stranger = make_ca(2048, "not the database's CA")
    wrong_ca = tmp_path / "wrong-ca.pem"
    wrong_ca.write_bytes(stranger.cert.public_bytes(serialization.Encoding.PEM))
    refused = subprocess.run(
        [
            str(PAYCRYPT_BIN), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "refused"),
            "--master-key-file", str(master_key_file),
            "--database-url", _with_query(database_url, sslmode="verify-full", sslrootcert=str(wrong_ca)),
        ],
        capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("PAYCRYPT_")}, stdin=subprocess.DEVNULL,
    )
    assert refused.returncode != 0
    assert "listening" not in refused.stdout
    assert "certificate" in refused.stderr.lower(), refused.stderr

    # The database's own CA: the node starts, serves the key, and its connections are encrypted.
    name = f"paycrypt-tls-{secrets.token_hex(4)}"
    node = module_server_factory(
        config=CONFIG,
        master_key_file=master_key_file,
        extra_args=[
            "--database-url",
            _with_query(database_url, sslmode="verify-full", sslrootcert=ca_file, application_name=name),
        ],
    )
    seen = make_client(node.endpoint).get_key(KeyIdentifier=key["KeyArn"])["Key"]
    assert seen["KeyCheckValue"] == key["KeyCheckValue"]
    ssl = _psql_rows(
        os.environ[DATABASE_URL_VAR],
        "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
        f"WHERE a.application_name = '{name}'",
    )
    assert ssl and set(ssl) == {"t"}, ssl
    node.stop_ok()
