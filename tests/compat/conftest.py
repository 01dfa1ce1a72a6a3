"""Fixtures of the compatibility suite: real `paycrypt serve` processes (release build, found via
PAYCRYPT_BIN), boto3 clients, raw SigV4-signed HTTP, and the AWS CLI.

Every server listens on 127.0.0.1:0 (unless a test says otherwise) in a fresh data dir; the
fixture waits for the `listening on http(s)://HOST:PORT` line, and at the end sends SIGTERM and
asserts exit status 0.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator
from unittest import mock

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
from botocore.config import Config

REPO = Path(__file__).resolve().parents[2]
PAYCRYPT_BIN = Path(os.environ.get("PAYCRYPT_BIN", REPO / "target" / "release" / "paycrypt"))

DEFAULT_ACCOUNT = "111122223333"
DEFAULT_ACCESS_KEY = "test"
DEFAULT_SECRET = "test"
REGION = "us-east-1"
SERVICE = "payment-cryptography"
TARGET_PREFIX = "PaymentCryptographyControlPlane."
STARTUP_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0

# Keep the suite independent of whatever AWS configuration the machine has.
for _name in list(os.environ):
    if _name.startswith("AWS_ENDPOINT_URL") or _name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        del os.environ[_name]
os.environ["AWS_CONFIG_FILE"] = "/dev/null"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


# --------------------------------------------------------------------------------------------
# What the whole session saw, for the scans of test_zz_secrets.py (which runs last)
# --------------------------------------------------------------------------------------------


@dataclass
class Exchange:
    """One boto3 call: who asked (account), what was sent (its path and body), what came back."""

    account: str
    request: bytes
    response: bytes


@dataclass
class Observed:
    secrets: list[bytes] = field(default_factory=list)  # clear key values the tests know
    pins: list[str] = field(default_factory=list)  # clear PINs long enough to scan for (see remember_pin)
    servers: list["Server"] = field(default_factory=list)  # every server the suite started
    exchanges: list[Exchange] = field(default_factory=list)
    accounts: dict[str, str] = field(default_factory=lambda: {DEFAULT_ACCESS_KEY: DEFAULT_ACCOUNT})


OBSERVED = Observed()


# Enough known keys to catch any leak path (a leak shows for every key that takes that path),
# few enough that the final scans stay fast however much traffic the suite makes.
MAX_SECRETS = 400


def remember_secret(clear: bytes) -> None:
    """Registers a clear key value that must never show up in a data dir, a log or a response
    (the first MAX_SECRETS of them)."""
    if len(OBSERVED.secrets) < MAX_SECRETS:
        OBSERVED.secrets.append(bytes(clear))


# The shortest PIN the scans look for: a 10-digit string turns up by chance in a log or a response
# about once in 10^10 positions, a 4-digit one in nearly every log (timestamps, ports, counters).
MIN_SCANNED_PIN = 10


def remember_pin(pin: str) -> None:
    """Registers a clear PIN that must never show up in a data dir, a log or a response. Only PINs
    of MIN_SCANNED_PIN digits or more are scanned for; register the clear PIN block of a short
    PIN with `remember_secret` instead."""
    if len(pin) >= MIN_SCANNED_PIN and len(OBSERVED.pins) < MAX_SECRETS:
        OBSERVED.pins.append(pin)


# --------------------------------------------------------------------------------------------
# Server processes
# --------------------------------------------------------------------------------------------


def accounts_config(accounts: dict[str, list[tuple[str, str]]], limits: dict[str, int] | None = None) -> str:
    """TOML for `--config`: `{account: [(access_key_id, secret), ...]}` plus optional limits."""
    for account, creds in accounts.items():
        for access_key, _ in creds:
            OBSERVED.accounts[access_key] = account
    lines = []
    if limits:
        lines.append("[limits]")
        lines.extend(f"{k} = {v}" for k, v in limits.items())
        lines.append("")
    for account, creds in accounts.items():
        entries = ", ".join(
            f'{{ access_key_id = "{a}", secret_access_key = "{s}" }}' for a, s in creds
        )
        lines.append("[[accounts]]")
        lines.append(f'id = "{account}"')
        lines.append(f"credentials = [{entries}]")
        lines.append("")
    return "\n".join(lines)


# For tests that write as fast as the machine lets them for a fixed time: the key and alias
# quotas (2,000 each by default) are not what they test, and a fast machine would reach them.
UNLIMITED = accounts_config(
    {DEFAULT_ACCOUNT: [(DEFAULT_ACCESS_KEY, DEFAULT_SECRET)]},
    limits={"keys_per_region": 1_000_000, "aliases_per_region": 1_000_000},
)


def _server_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYCRYPT_")}
    env["PAYCRYPT_LOG"] = os.environ.get("PAYCRYPT_LOG", "info")
    return env


@dataclass
class Server:
    """One `paycrypt serve` process."""

    data_dir: Path
    config: Path | None = None
    master_key_file: Path | None = None
    proc: subprocess.Popen | None = None
    endpoint: str = ""
    log_path: Path | None = None
    _lines: "queue.Queue[str | None]" = field(default_factory=queue.Queue)
    # further `paycrypt serve` flags, e.g. ["--token-validity", "3s"]
    extra_args: list[str] = field(default_factory=list)
    listen: str = "127.0.0.1:0"

    def command(self) -> list[str]:
        cmd = [str(PAYCRYPT_BIN), "serve", "--listen", self.listen, "--data-dir", str(self.data_dir)]
        if self.config is not None:
            cmd += ["--config", str(self.config)]
        if self.master_key_file is not None:
            cmd += ["--master-key-file", str(self.master_key_file)]
        cmd += self.extra_args
        return cmd

    def start(self) -> "Server":
        if not PAYCRYPT_BIN.is_file():
            pytest.fail(
                f"paycrypt binary not found at {PAYCRYPT_BIN}; build it with "
                "`cargo build --release -p paycrypt` or set PAYCRYPT_BIN"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.server.{time.monotonic_ns()}.log"
        log = open(self.log_path, "wb")
        self._lines = lines = queue.Queue()
        self.proc = subprocess.Popen(
            self.command(),
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            env=_server_env(),
        )
        log.close()
        # the queue is handed over, not looked up on self: a previous process's reader thread must
        # never feed the lines of this one
        threading.Thread(target=self._pump, args=(self.proc.stdout, self._lines), daemon=True).start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                pytest.fail(f"paycrypt did not print its listening line in time:\n{self.log()}")
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                rc = self.proc.wait(timeout=STOP_TIMEOUT)
                pytest.fail(f"paycrypt exited with {rc} before listening:\n{self.log()}")
            listening = re.search(r"listening on (https?://\S+)", line)
            if listening:
                self.endpoint = listening.group(1)
                return self

    @staticmethod
    def _pump(stream, lines: "queue.Queue[str | None]") -> None:
        for raw in iter(stream.readline, b""):
            lines.put(raw.decode("utf-8", "replace"))
        lines.put(None)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace") if self.log_path else ""
        except OSError:
            return ""

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int:
        """SIGTERM, wait, and return the exit status."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"paycrypt did not stop within {STOP_TIMEOUT}s of SIGTERM")

    def stop_ok(self) -> None:
        rc = self.stop()
        assert rc == 0, f"paycrypt exited with {rc} after SIGTERM:\n{self.log()}"

    def kill(self) -> None:
        """SIGKILL: no chance to flush or shut down."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> "Server":
        """Start again on the same data dir (a new port)."""
        assert not self.running
        return self.start()


def run_paycrypt(*args: str, timeout: float = 30.0, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Runs `paycrypt ARGS...` to completion; `env` adds environment variables (e.g. PAYCRYPT_*)."""
    return subprocess.run(
        [str(PAYCRYPT_BIN), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**_server_env(), **(env or {})},
        stdin=subprocess.DEVNULL,
    )


class ServerFactory:
    def __init__(self, base: Path):
        self.base = base
        self.servers: list[Server] = []
        self.count = 0

    def __call__(
        self,
        config: str | None = None,
        data_dir: Path | None = None,
        master_key_file: Path | None = None,
        start: bool = True,
        extra_args: list[str] | None = None,
        listen: str = "127.0.0.1:0",
    ) -> Server:
        self.count += 1
        data_dir = data_dir or self.base / f"data{self.count}"
        config_path = None
        if config is not None:
            config_path = self.base / f"config{self.count}.toml"
            config_path.write_text(config)
        server = Server(
            data_dir=data_dir,
            config=config_path,
            master_key_file=master_key_file,
            extra_args=list(extra_args or []),
            listen=listen,
        )
        self.servers.append(server)
        OBSERVED.servers.append(server)
        return server.start() if start else server

    def close(self) -> None:
        failures = []
        for server in self.servers:
            if server.running:
                rc = server.stop()
                if rc != 0:
                    failures.append(f"{server.data_dir}: exit {rc}\n{server.log()}")
        assert not failures, "paycrypt did not exit 0 on SIGTERM:\n" + "\n".join(failures)


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[ServerFactory]:
    """Start servers inside one test; each still running at the end gets SIGTERM and must exit 0."""
    factory = ServerFactory(tmp_path)
    yield factory
    factory.close()


@pytest.fixture(scope="module")
def module_server_factory(tmp_path_factory) -> Iterator[ServerFactory]:
    factory = ServerFactory(tmp_path_factory.mktemp("paycrypt"))
    yield factory
    factory.close()


@pytest.fixture(scope="module")
def server(module_server_factory: ServerFactory) -> Server:
    """One server per test module, default configuration (account 111122223333, key test/test)."""
    return module_server_factory()


@pytest.fixture(scope="module")
def endpoint(server: Server) -> str:
    return server.endpoint


# --------------------------------------------------------------------------------------------
# boto3
# --------------------------------------------------------------------------------------------


def make_client(
    endpoint: str,
    access_key: str = DEFAULT_ACCESS_KEY,
    secret: str = DEFAULT_SECRET,
    region: str = REGION,
    validate: bool = True,
    verify: str | None = None,
    service: str = SERVICE,
):
    """A boto3 client for paycrypt; `validate=False` turns off botocore's client-side parameter
    validation so the server's own validation can be exercised; `verify` is the CA bundle an
    https endpoint's certificate must chain to; `service` is `payment-cryptography` (the control
    plane) or `payment-cryptography-data` (the data plane, on the same endpoint)."""
    session = boto3.session.Session(
        aws_access_key_id=access_key,
        aws_secret_access_key=secret,
        region_name=region,
    )
    client = session.client(
        service,
        endpoint_url=endpoint,
        verify=verify,
        config=Config(
            retries={"max_attempts": 1},
            connect_timeout=5,
            read_timeout=60,
            parameter_validation=validate,
        ),
    )
    _observe(client, OBSERVED.accounts.get(access_key, "unknown"))
    return client


def _observe(client, account: str) -> None:
    """Records every request body and response body of `client` in OBSERVED.exchanges."""
    sent = threading.local()

    def before_send(request, **_):
        body = request.body
        body = body if isinstance(body, bytes) else (body or "").encode()
        # The data plane names its key in the path: the request is its decoded path and its body.
        path = urllib.parse.unquote(urllib.parse.urlsplit(request.url).path).encode()
        sent.body = path + b" " + body

    def after_call(http_response, **_):
        OBSERVED.exchanges.append(Exchange(account, getattr(sent, "body", b""), http_response.content))

    event_name = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"before-send.{event_name}", before_send)
    client.meta.events.register(f"after-call.{event_name}", after_call)


@pytest.fixture(scope="module")
def client_factory() -> Callable[..., Any]:
    return make_client


@pytest.fixture(scope="module")
def client(endpoint: str):
    return make_client(endpoint)


@pytest.fixture(scope="module")
def data(endpoint: str):
    """A data-plane (`payment-cryptography-data`) client of the module's server."""
    return make_client(endpoint, service="payment-cryptography-data")


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def error_message(excinfo) -> str:
    return excinfo.value.response["Error"]["Message"]


def key_count(client, **kwargs) -> int:
    return sum(len(page["Keys"]) for page in client.get_paginator("list_keys").paginate(**kwargs))


# --------------------------------------------------------------------------------------------
# Raw HTTP with SigV4
# --------------------------------------------------------------------------------------------


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error_type(self) -> str | None:
        return self.headers.get("x-amzn-errortype")


def send_raw(endpoint: str, headers: dict[str, str], body: bytes, method: str = "POST", path: str = "/") -> RawResponse:
    url = urllib.parse.urlsplit(endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


def sign(
    endpoint: str,
    operation: str | None,
    body: bytes,
    access_key: str = DEFAULT_ACCESS_KEY,
    secret: str = DEFAULT_SECRET,
    region: str = REGION,
    service: str = SERVICE,
    target: str | None = None,
    when=None,
    token: str | None = None,
    omit_target: bool = False,
) -> dict[str, str]:
    """Headers of a SigV4-signed AWS JSON 1.0 request, signed by botocore's SigV4Auth.

    `when` (a naive UTC datetime) overrides the signing time; `target` overrides X-Amz-Target.
    """
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": target if target is not None else TARGET_PREFIX + (operation or ""),
    }
    if omit_target:
        del headers["X-Amz-Target"]
    request = botocore.awsrequest.AWSRequest(method="POST", url=endpoint + "/", data=body, headers=headers)
    credentials = botocore.credentials.Credentials(access_key, secret, token)
    auth = botocore.auth.SigV4Auth(credentials, service, region)
    if when is None:
        auth.add_auth(request)
    else:
        with mock.patch("botocore.auth.get_current_datetime", return_value=when):
            auth.add_auth(request)
    prepared = request.prepare()
    out = dict(prepared.headers.items())
    out["Host"] = urllib.parse.urlsplit(endpoint).netloc
    return out


def call_raw(endpoint: str, operation: str, payload: Any = None, body: bytes | None = None, **sign_kwargs) -> RawResponse:
    """Sign and send one request; `body` (bytes) wins over `payload` (JSON-encoded)."""
    if body is None:
        body = json.dumps(payload if payload is not None else {}).encode()
    headers = sign(endpoint, operation, body, **sign_kwargs)
    return send_raw(endpoint, headers, body)


# --------------------------------------------------------------------------------------------
# AWS CLI
# --------------------------------------------------------------------------------------------


def aws_binary() -> str:
    candidate = Path(sys.executable).parent / "aws"
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("aws")
    if not found:
        pytest.skip("the AWS CLI (`aws`, from requirements.txt) is not installed")
    return found


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout) if self.stdout.strip() else {}


class AwsCli:
    def __init__(self, endpoint: str, access_key: str = DEFAULT_ACCESS_KEY, secret: str = DEFAULT_SECRET, region: str = REGION,
                 service: str = SERVICE):
        self.service = service  # the CLI's command: payment-cryptography or payment-cryptography-data
        self.endpoint = endpoint
        self.access_key = access_key
        self.secret = secret
        self.region = region

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ACCESS_KEY_ID=self.access_key,
            AWS_SECRET_ACCESS_KEY=self.secret,
            AWS_REGION=self.region,
            AWS_DEFAULT_REGION=self.region,
            AWS_CONFIG_FILE="/dev/null",
            AWS_SHARED_CREDENTIALS_FILE="/dev/null",
            AWS_MAX_ATTEMPTS="1",
            AWS_PAGER="",
            AWS_EC2_METADATA_DISABLED="true",
        )
        return env

    def run(self, *args: str, endpoint_via_env: bool = False, check: bool = True) -> CliResult:
        cmd = [aws_binary(), self.service, *args, "--output", "json"]
        env = self.env()
        if endpoint_via_env:
            env["AWS_ENDPOINT_URL_" + self.service.upper().replace("-", "_")] = self.endpoint
        else:
            cmd += ["--endpoint-url", self.endpoint]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
        result = CliResult(proc.returncode, proc.stdout, proc.stderr)
        if check:
            assert proc.returncode == 0, f"aws {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}"
        return result


@pytest.fixture(scope="module")
def aws_cli(endpoint: str) -> AwsCli:
    return AwsCli(endpoint)


# --------------------------------------------------------------------------------------------
# Key attributes helpers shared by the modules
# --------------------------------------------------------------------------------------------

ALL_MODES = ("Encrypt", "Decrypt", "Wrap", "Unwrap", "Generate", "Sign", "Verify", "DeriveKey", "NoRestrictions")


def modes(*names: str) -> dict[str, bool]:
    unknown = set(names) - set(ALL_MODES)
    assert not unknown, unknown
    return {name: name in names for name in ALL_MODES}


def attributes(usage: str, algorithm: str, key_class: str, *mode_names: str) -> dict[str, Any]:
    return {
        "KeyUsage": usage,
        "KeyAlgorithm": algorithm,
        "KeyClass": key_class,
        "KeyModesOfUse": modes(*mode_names),
    }


def tdes_key(client, exportable: bool = True, **kwargs) -> dict[str, Any]:
    """A TR31_K0 TDES_2KEY key with {Encrypt, Decrypt, Wrap, Unwrap}; returns the Key."""
    return client.create_key(
        KeyAttributes=attributes(
            "TR31_K0_KEY_ENCRYPTION_KEY", "TDES_2KEY", "SYMMETRIC_KEY", "Encrypt", "Decrypt", "Wrap", "Unwrap"
        ),
        Exportable=exportable,
        **kwargs,
    )["Key"]


# --------------------------------------------------------------------------------------------
# The web console over plain HTTP (the browser tests drive Chromium instead)
# --------------------------------------------------------------------------------------------


@dataclass
class ConsolePage:
    status: int
    headers: dict[str, str]
    text: str

    def csrf(self) -> str:
        found = re.search(r'name="csrf" value="([0-9a-f]+)"', self.text)
        assert found, f"no CSRF token in the page:\n{self.text[:500]}"
        return found.group(1)


class ConsoleClient:
    """A cookie-keeping HTTP client of one console session, sending `user_agent`."""

    def __init__(self, endpoint: str, user_agent: str = "console-probe/1.0"):
        url = urllib.parse.urlsplit(endpoint)
        self.host, self.port = url.hostname, url.port
        self.user_agent = user_agent
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> ConsolePage:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        headers = {"User-Agent": self.user_agent}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                cookie_value = rest.split(";", 1)[0]
                if "Max-Age=0" in value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = cookie_value
        page = ConsolePage(response.status, {k.lower(): v for k, v in response.getheaders()}, text)
        conn.close()
        return page

    def get(self, path: str) -> ConsolePage:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, str]) -> ConsolePage:
        return self.request("POST", path, form)

    def sign_in(self, access_key_id: str, secret: str) -> ConsolePage:
        token = self.get("/console/signin").csrf()
        return self.post(
            "/console/signin", {"csrf": token, "access_key_id": access_key_id, "secret_access_key": secret}
        )
