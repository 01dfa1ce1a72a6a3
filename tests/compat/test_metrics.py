"""`GET /metrics`: the Prometheus text format, parsed with the Prometheus client's own parser;
request counters by plane, operation and outcome and duration histograms move with traffic; the
key gauge counts keys by state; the store's commit batches and the token key pool's depth are
reported; no account id, key id or access key id appears; --no-metrics
turns it off."""

from __future__ import annotations

import http.client
import urllib.parse

import botocore.exceptions
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import DEFAULT_ACCOUNT, ConsoleClient, attributes, make_client, tdes_key


def scrape(endpoint: str) -> tuple[int, str]:
    url = urllib.parse.urlsplit(endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.request("GET", "/metrics")
    response = conn.getresponse()
    text = response.read().decode()
    assert response.status != 200 or response.getheader("content-type").startswith("text/plain")
    return response.status, text


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """Every sample, by name and sorted labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_parse_and_move_with_traffic(server_factory):
    server = server_factory()
    client = make_client(server.endpoint)
    data = make_client(server.endpoint, service="payment-cryptography-data")
    status, text = scrape(server.endpoint)
    assert status == 200
    before = samples(text)

    arns = [tdes_key(client)["KeyArn"] for _ in range(3)]
    client.stop_key_usage(KeyIdentifier=arns[0])
    client.delete_key(KeyIdentifier=arns[1], DeleteKeyInDays=3)
    with pytest.raises(botocore.exceptions.ClientError):
        client.get_key(KeyIdentifier=arns[0][:-16] + "0123456789abcdef")
    mac_key = client.create_key(
        KeyAttributes=attributes("TR31_M7_HMAC_KEY", "HMAC_SHA256", "SYMMETRIC_KEY", "Generate", "Verify"), Exportable=False
    )["Key"]["KeyArn"]
    data.generate_mac(KeyIdentifier=mac_key, MessageData="00" * 8, GenerationAttributes={"Algorithm": "HMAC"})
    console = ConsoleClient(server.endpoint)
    console.sign_in("test", "test")
    console.get("/console/keys?region=us-east-1")
    client.get_parameters_for_export(KeyMaterialType="TR34_KEY_BLOCK", SigningKeyAlgorithm="RSA_2048")

    status, text = scrape(server.endpoint)
    after = samples(text)
    requests = "paycrypt_requests_total"
    moved = lambda **labels: value(after, requests, **labels) - value(before, requests, **labels)  # noqa: E731
    assert moved(plane="control", operation="CreateKey", outcome="success") == 4
    assert moved(plane="control", operation="GetKey", outcome="ResourceNotFoundException") == 1
    assert moved(plane="data", operation="GenerateMac", outcome="success") == 1
    assert moved(plane="console", operation="ListKeys", outcome="success") >= 1
    count = "paycrypt_request_duration_seconds_count"
    assert value(after, count, plane="control", operation="CreateKey") - value(before, count, plane="control", operation="CreateKey") == 4
    buckets = [k for k in after if k[0] == "paycrypt_request_duration_seconds_bucket"]
    assert any(dict(labels).get("le") == "+Inf" for _, labels in buckets)
    # the store's group commits: every write above (4 keys, a stop, a deletion, a token) is in one
    commits = "paycrypt_store_commit_batch_size"
    written = value(after, commits + "_sum") - value(before, commits + "_sum")
    groups = value(after, commits + "_count") - value(before, commits + "_count")
    assert written >= 7 and 1 <= groups <= written, (written, groups)
    assert value(after, "paycrypt_store_commit_duration_seconds_count") - value(
        before, "paycrypt_store_commit_duration_seconds_count") == groups
    # the token key pool (8 pairs by default) reports what it holds ready
    depth = {labels: v for (name, labels), v in after.items() if name == "paycrypt_token_key_pool_depth"}
    assert set(depth) == {(("kind", "pairs"),), (("kind", "tokens"),)}, depth
    assert all(0 <= v <= 8 for v in depth.values()), depth
    assert value(after, "paycrypt_keys", state="CREATE_COMPLETE") == 3
    assert value(after, "paycrypt_keys", state="DELETE_PENDING") == 1

    assert DEFAULT_ACCOUNT not in text
    for arn in arns + [mac_key]:
        assert arn.split("/")[-1] not in text
    assert 'test"' not in text and "Boto3" not in text


def test_no_metrics_turns_it_off(server_factory):
    server = server_factory(extra_args=["--no-metrics"])
    status, text = scrape(server.endpoint)
    assert status != 200 and "paycrypt_requests_total" not in text
