"""Regenerates signed-requests.json: requests signed by botocore (the signer of boto3 and of
the AWS CLI), recorded as a server receives them, for tests/botocore_fixtures.rs.

Run with boto3 installed: python3 tests/botocore/generate.py
It starts a local HTTP server that records each request and answers `{}`, points boto3's
payment-cryptography client at it with a fixed clock, and also signs a few requests with
botocore's SigV4Auth / SigV4QueryAuth directly (x-amz-content-sha256, presigned URLs).
"""

import datetime
import hashlib
import json
import os
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from unittest import mock

import boto3
import botocore
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

SIGNED_AT = datetime.datetime(2023, 10, 25, 12, 0, 0, tzinfo=datetime.timezone.utc)
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLE//////////token+with/special=chars"
SERVICE = "payment-cryptography"
REGION = "us-east-1"

recorded = []


class Recorder(BaseHTTPRequestHandler):
    def _record(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        recorded.append(
            {
                "method": self.command,
                "path": path,
                "query": query,
                "headers": [[k, v] for k, v in self.headers.items()],
                "body": body.decode("utf-8"),
            }
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_POST = _record
    do_GET = _record

    def log_message(self, *args):
        pass


def main():
    server = HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_port}"
    fixtures = []

    def take(name, session_token):
        request = recorded.pop()
        request["name"] = name
        request["session_token"] = session_token
        fixtures.append(request)

    with mock.patch("botocore.auth.get_current_datetime", return_value=SIGNED_AT):
        for token in (None, SESSION_TOKEN):
            client = boto3.client(
                SERVICE,
                region_name=REGION,
                endpoint_url=endpoint,
                aws_access_key_id=ACCESS_KEY,
                aws_secret_access_key=SECRET_KEY,
                aws_session_token=token,
                config=Config(retries={"max_attempts": 1}),
            )
            suffix = "-session-token" if token else ""
            client.list_keys()
            take("boto3-list-keys" + suffix, token)
            client.create_key(
                Exportable=True,
                KeyAttributes={
                    "KeyAlgorithm": "TDES_2KEY",
                    "KeyClass": "SYMMETRIC_KEY",
                    "KeyModesOfUse": {"Encrypt": True, "Decrypt": True, "Wrap": True, "Unwrap": True},
                    "KeyUsage": "TR31_K0_KEY_ENCRYPTION_KEY",
                },
                Tags=[{"Key": "note", "Value": "ünïcödé & spaces  +/="}],
            )
            take("boto3-create-key" + suffix, token)

        # botocore's signer used directly, with x-amz-content-sha256 and presigned URLs.
        body = b'{"KeyIdentifier":"alias/example"}'
        for token in (None, SESSION_TOKEN):
            suffix = "-session-token" if token else ""
            credentials = Credentials(ACCESS_KEY, SECRET_KEY, token)
            request = AWSRequest(
                method="POST",
                url=endpoint + "/",
                data=body,
                headers={
                    "Content-Type": "application/x-amz-json-1.0",
                    "X-Amz-Target": "PaymentCryptographyControlPlane.GetKey",
                    "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest(),
                },
            )
            SigV4Auth(credentials, SERVICE, REGION).add_auth(request)
            send(request.prepare())
            take("botocore-content-sha256" + suffix, token)

            request = AWSRequest(method="GET", url=endpoint + "/?Action=Ping&Name=a%20b")
            SigV4QueryAuth(credentials, SERVICE, REGION, expires=300).add_auth(request)
            send(request.prepare())
            take("botocore-presigned" + suffix, token)

    server.shutdown()
    out = {
        "generator": f"botocore {botocore.__version__} (boto3 {boto3.__version__})",
        "access_key_id": ACCESS_KEY,
        "secret_access_key": SECRET_KEY,
        "region": REGION,
        "service": SERVICE,
        "signed_at": int(SIGNED_AT.timestamp()),
        "requests": fixtures,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "signed-requests.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")


def send(prepared):
    """Sends a request prepared by botocore as it is, with urllib."""
    request = urllib.request.Request(
        prepared.url, data=prepared.body or None, headers=dict(prepared.headers), method=prepared.method
    )
    with urllib.request.urlopen(request) as response:
        response.read()


if __name__ == "__main__":
    main()
