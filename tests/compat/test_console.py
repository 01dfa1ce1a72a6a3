"""The web console at /console/, in a real browser: headless Chromium (Debian's `chromium`, at
PAYCRYPT_CHROMIUM or /usr/bin/chromium) driven by Playwright, which downloads no browser of its
own. Sign in, create a key through the form and find it in the list and through boto3, disable it,
inspect a TR-31 block, sign out; a wrong secret; a form post without its CSRF token refused; one
account's session never shows another account's keys; every key action (enable, deletion and
restore, aliases, tags) as boto3 then sees it; paging and filters; the console's own security
headers; and --no-console. The tests without a browser speak HTTP with conftest's ConsoleClient.

With PAYCRYPT_SCREENSHOTS=DIR the browser test saves the README's screenshots of the main pages
there (docs/console/ in the repository).

Without Chromium or Playwright these tests fail (scripts/test installs both); they never skip.
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import psec
import pytest

from conftest import ConsoleClient, accounts_config, attributes, make_client, remember_secret

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CHROMIUM = os.environ.get("PAYCRYPT_CHROMIUM", "/usr/bin/chromium")
ACCOUNT_A, ACCOUNT_B = "111122223333", "444455556666"
KEY_A, SECRET_A = "AKIDCONSOLEA", "secret-of-a"
KEY_A2, SECRET_A2 = "AKIDCONSOLEA2", "second-secret-of-a"
KEY_B, SECRET_B = "AKIDCONSOLEB", "secret-of-b"
CONFIG = accounts_config({ACCOUNT_A: [(KEY_A, SECRET_A), (KEY_A2, SECRET_A2)], ACCOUNT_B: [(KEY_B, SECRET_B)]})
SCREENSHOTS = os.environ.get("PAYCRYPT_SCREENSHOTS")


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium (scripts/test does) or set PAYCRYPT_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def console_server(module_server_factory):
    return module_server_factory(config=CONFIG)


def kek(client) -> str:
    """The ARN of a new AES-128 key encryption key."""
    return client.create_key(
        KeyAttributes=attributes("TR31_K0_KEY_ENCRYPTION_KEY", "AES_128", "SYMMETRIC_KEY", "Encrypt", "Decrypt", "Wrap", "Unwrap"),
        Exportable=False,
    )["Key"]["KeyArn"]


def shoot(page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def sign_in(page, endpoint: str, key: str, secret: str) -> None:
    page.goto(endpoint + "/console/")
    assert page.url.endswith("/console/signin")
    page.fill("#access_key_id", key)
    page.fill("#secret_access_key", secret)
    page.click("button:has-text('Sign in')")


def test_sign_in_create_find_disable_inspect_sign_out(browser, console_server):
    endpoint = console_server.endpoint
    client = make_client(endpoint, access_key=KEY_A, secret=SECRET_A)
    existing = client.create_key(
        KeyAttributes=attributes("TR31_P0_PIN_ENCRYPTION_KEY", "TDES_3KEY", "SYMMETRIC_KEY", "Encrypt", "Decrypt", "Wrap", "Unwrap"),
        Exportable=True, Tags=[{"Key": "team", "Value": "issuing"}],
    )["Key"]
    client.create_alias(AliasName="alias/pin-encryption", KeyArn=existing["KeyArn"])
    make_client(endpoint, access_key=KEY_A, secret=SECRET_A, region="eu-west-1").create_key(
        KeyAttributes=attributes("TR31_M7_HMAC_KEY", "HMAC_SHA256", "SYMMETRIC_KEY", "Generate", "Verify"), Exportable=False
    )

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sign_in(page, endpoint, KEY_A, SECRET_A)
    page.wait_for_url("**/console/keys")
    cookie = next(c for c in context.cookies() if c["name"] == "paycrypt_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    assert ACCOUNT_A in page.inner_text("header")
    # the region picker lists the regions that have keys
    options = page.eval_on_selector_all("#region option", "els => els.map(e => e.value)")
    assert options == ["eu-west-1", "us-east-1"]
    page.select_option("#region", "us-east-1")
    page.click("form.picker button")
    assert existing["KeyArn"].split("/")[-1] in page.inner_text("table")
    assert "alias/pin-encryption" in page.inner_text("table")
    assert existing["KeyCheckValue"] in page.inner_text("table")

    # create a key through the form: first the usage, then only what that usage allows
    page.click("nav >> text=Create key")
    page.select_option("#usage", "TR31_K0_KEY_ENCRYPTION_KEY")
    page.click("button:has-text('Choose')")
    algorithms = page.eval_on_selector_all("#algorithm option", "els => els.map(e => e.value)")
    assert algorithms == ["TDES_2KEY", "TDES_3KEY", "AES_128", "AES_192", "AES_256"]
    assert "Sign" not in page.inner_text("#modes")
    page.select_option("#algorithm", "AES_256")
    page.select_option("#modes", "Encrypt+Decrypt+Wrap+Unwrap")
    page.fill("#alias", "alias/made-in-console")
    page.fill("#tag_key", "origin")
    page.fill("#tag_value", "console <b>test</b>")
    shoot(page, "create-key")
    page.click("button:has-text('Create key')")
    assert "Key created, with its alias." in page.inner_text("main")
    key_id = page.inner_text("h1").removeprefix("Key ").strip()
    facts = page.inner_text("dl.facts")
    assert "TR31_K0_KEY_ENCRYPTION_KEY" in facts and "AES_256" in facts and "CMAC" in facts
    assert "console <b>test</b>" in page.inner_text("#tags ~ div"), "tag values show as text"
    shoot(page, "key")

    # boto3 sees the same key, its alias and tag
    arn = f"arn:aws:payment-cryptography:us-east-1:{ACCOUNT_A}:key/{key_id}"
    key = client.get_key(KeyIdentifier=arn)["Key"]
    assert key["KeyAttributes"]["KeyAlgorithm"] == "AES_256" and key["Enabled"] is True
    assert key["KeyCheckValue"] in facts
    assert client.get_alias(AliasName="alias/made-in-console")["Alias"]["KeyArn"] == arn
    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "origin", "Value": "console <b>test</b>"}]

    # and the list shows it, found by its alias
    page.click("nav >> text=Keys")
    page.fill("#alias", "made-in")
    page.click("button:has-text('Filter')")
    rows = page.inner_text("tbody")
    assert key_id in rows and existing["KeyArn"].split("/")[-1] not in rows
    page.goto(endpoint + "/console/keys?region=us-east-1")
    shoot(page, "keys")

    # disable it
    page.goto(f"{endpoint}/console/keys/{key_id}?region=us-east-1")
    page.click("button:has-text('Disable')")
    assert "Key disabled." in page.inner_text("main")
    assert client.get_key(KeyIdentifier=arn)["Key"]["Enabled"] is False

    # a bad alias gets the API's own validation message
    page.fill("#new-alias", "not-an-alias")
    page.click("button:has-text('Add alias')")
    assert "ValidationException" in page.inner_text("p.error")

    # inspect a TR-31 block: its header, nothing decrypted
    kbpk, clear = os.urandom(16), os.urandom(16)
    remember_secret(clear)
    block = psec.tr31.wrap(kbpk, psec.tr31.Header("D", "P0", "A", "E", "00", "E"), clear)
    page.click("nav >> text=Inspect key block")
    page.fill("#block", block)
    page.click("button:has-text('Inspect')")
    table = page.inner_text("table")
    assert re.search(r"format\s+TR-31", table) and re.search(r"header\.key_usage\s+P0", table), table
    assert clear.hex().upper() not in page.content()
    shoot(page, "inspect")

    # the audit log page shows the console's own changes, newest first
    page.click("nav >> text=Audit log")
    newest = [line.split("\t") for line in page.inner_text("tbody").splitlines()[:2]]
    assert [row[1:5] for row in newest] == [
        ["CreateAlias", "ValidationException", "console", KEY_A],
        ["StopKeyUsage", "success", "console", KEY_A],
    ], newest
    shoot(page, "audit")

    # at phone width the pages still fit
    phone = context.new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(f"{endpoint}/console/keys/{key_id}?region=us-east-1")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the key page is {width}px wide at phone width"
    shoot(phone, "key-phone")
    phone.close()

    # sign out: the session is gone
    page.click("button:has-text('Sign out')")
    page.wait_for_url("**/console/signin")
    shoot(page, "signin")
    page.goto(endpoint + "/console/keys")
    assert page.url.endswith("/console/signin")
    context.close()


def test_wrong_secret_or_unknown_key_get_one_answer_and_repeated_failures_slow_down(browser, console_server):
    endpoint = console_server.endpoint
    page = browser.new_page()
    sign_in(page, endpoint, KEY_A, "not-the-secret")
    assert "The access key id or the secret access key is wrong." in page.inner_text("p.error")
    assert page.url.endswith("/console/signin")
    page.close()

    probe = ConsoleClient(endpoint, user_agent="failure-probe/1.0")
    answers, took = [], []
    for key, secret in [("AKIDNOSUCHKEY", "x"), (KEY_B, "wrong"), (KEY_B, "wrong"), (KEY_B, "wrong")]:
        started = time.monotonic()
        answer = probe.sign_in(key, secret)
        took.append(time.monotonic() - started)
        answers.append((answer.status, re.sub(r'value="[0-9a-f]+"', "", answer.text)))
    assert all(a == answers[0] for a in answers), "the same answer whatever was wrong"
    assert answers[0][0] == 401
    assert took[3] >= 0.9, f"the fourth failure from one address waits longer: {took}"
    # a success clears the address's failures
    assert probe.sign_in(KEY_B, SECRET_B).status == 303
    assert "paycrypt_session" in probe.cookies


def test_forms_without_their_csrf_token_are_refused(console_server):
    endpoint = console_server.endpoint
    client = make_client(endpoint, access_key=KEY_A, secret=SECRET_A)
    arn = kek(client)
    key_id = arn.split("/")[-1]
    console = ConsoleClient(endpoint)
    # the sign-in form itself needs its token
    refused = console.post("/console/signin", {"access_key_id": KEY_A, "secret_access_key": SECRET_A})
    assert refused.status == 403 and "paycrypt_session" not in console.cookies
    assert console.sign_in(KEY_A, SECRET_A).status == 303
    page = console.get(f"/console/keys/{key_id}?region=us-east-1")
    assert page.status == 200
    for form in ({"region": "us-east-1"}, {"region": "us-east-1", "csrf": "0" * 64}, {"region": "us-east-1", "csrf": ""}):
        answer = console.post(f"/console/keys/{key_id}/disable", form)
        assert answer.status == 403, answer.text
        assert "CSRF" in answer.text
    assert client.get_key(KeyIdentifier=arn)["Key"]["Enabled"] is True
    done = console.post(f"/console/keys/{key_id}/disable", {"region": "us-east-1", "csrf": page.csrf()})
    assert done.status == 303
    assert client.get_key(KeyIdentifier=arn)["Key"]["Enabled"] is False
    # another session's token is not this one's
    other = ConsoleClient(endpoint)
    other.sign_in(KEY_A2, SECRET_A2)
    other_token = other.get("/console/keys").csrf()
    assert console.post(f"/console/keys/{key_id}/enable", {"region": "us-east-1", "csrf": other_token}).status == 403


def test_security_headers_and_bad_input(console_server):
    console = ConsoleClient(console_server.endpoint)
    page = console.get("/console/signin")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert "<script" not in page.text and "style=" not in page.text
    set_cookie = page.headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
    assert console.get("/console/keys").status == 303  # not signed in
    console.sign_in(KEY_A, SECRET_A)
    assert console.get("/console/keys?region=not-a-region").status == 400
    assert console.get("/console/keys/..%2F..%2Fetc?region=us-east-1").status == 404
    assert console.get("/console/no-such-page").status == 404
    token = console.get("/console/keys").csrf()
    bad = console.post("/console/inspect", {"csrf": token, "block": "hello <script>"})
    assert bad.status == 400 and "not a TR-31 key block" in bad.text and "<script>" not in bad.text
    unknown = console.post("/console/keys", {"csrf": token, "region": "us-east-1", "usage": "NOPE", "algorithm": "AES_128"})
    assert unknown.status == 400 and "ValidationException" in unknown.text


def test_a_session_never_shows_another_accounts_keys(console_server):
    endpoint = console_server.endpoint
    b_client = make_client(endpoint, access_key=KEY_B, secret=SECRET_B)
    b_arn = kek(b_client)
    b_id = b_arn.split("/")[-1]
    a = ConsoleClient(endpoint)
    assert a.sign_in(KEY_A, SECRET_A).status == 303
    listed = a.get("/console/keys?region=us-east-1")
    assert listed.status == 200 and b_id not in listed.text and ACCOUNT_B not in listed.text
    audit = a.get("/console/audit")
    assert b_id not in audit.text and ACCOUNT_B not in audit.text
    assert a.get(f"/console/keys/{b_id}?region=us-east-1").status == 404
    token = listed.csrf()
    assert a.post(f"/console/keys/{b_id}/disable", {"csrf": token, "region": "us-east-1"}).status == 404
    assert b_client.get_key(KeyIdentifier=b_arn)["Key"]["Enabled"] is True
    # A's refused attempt is on A's record, naming the key id in A's own account only
    assert ACCOUNT_B not in a.get("/console/audit").text


def test_actions_change_the_key_as_the_api_sees_it(console_server):
    """Enable, schedule deletion, restore, aliases and tags from the key page; boto3 sees each."""
    client = make_client(console_server.endpoint, access_key=KEY_A2, secret=SECRET_A2)
    arn = kek(client)
    key_id = arn.split("/")[-1]
    console = ConsoleClient(console_server.endpoint)
    assert console.sign_in(KEY_A2, SECRET_A2).status == 303
    path = f"/console/keys/{key_id}"

    def act(action: str, **fields: str) -> str:
        page = console.get(f"{path}?region=us-east-1")
        answer = console.post(f"{path}/{action}", {"csrf": page.csrf(), "region": "us-east-1", **fields})
        assert answer.status == 303, answer.text
        return console.get(answer.headers["location"]).text

    assert "Alias added." in act("add-alias", alias="alias/actions")
    assert client.get_alias(AliasName="alias/actions")["Alias"]["KeyArn"] == arn
    assert "Tag saved." in act("add-tag", tag_key="cost-centre", tag_value="42")
    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "cost-centre", "Value": "42"}]
    assert "Tag removed." in act("remove-tag", tag_key="cost-centre")
    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == []
    assert "Alias removed." in act("remove-alias", alias="alias/actions")
    assert client.list_aliases(KeyArn=arn)["Aliases"] == []
    act("disable")
    assert "Key enabled." in act("enable")
    assert client.get_key(KeyIdentifier=arn)["Key"]["Enabled"] is True
    page = act("delete", days="3")
    assert "Key deletion scheduled." in page and "Restore" in page
    assert client.get_key(KeyIdentifier=arn)["Key"]["KeyState"] == "DELETE_PENDING"
    assert "Key restored" in act("restore")
    assert client.get_key(KeyIdentifier=arn)["Key"]["KeyState"] == "CREATE_COMPLETE"

    # out-of-range and non-numeric days get the API's own validation errors
    token = console.get(f"{path}?region=us-east-1").csrf()
    for days in ("1", "soon"):
        refused = console.post(f"{path}/delete", {"csrf": token, "region": "us-east-1", "days": days})
        assert refused.status == 400 and ("ValidationException" in refused.text or "SerializationException" in refused.text)
    assert client.get_key(KeyIdentifier=arn)["Key"]["KeyState"] == "CREATE_COMPLETE"


def test_the_key_list_pages_and_filters(server_factory):
    server = server_factory()
    client = make_client(server.endpoint, region="ap-southeast-2")
    arns = [kek(client) for _ in range(27)]
    client.stop_key_usage(KeyIdentifier=arns[0])
    client.delete_key(KeyIdentifier=arns[1], DeleteKeyInDays=3)
    console = ConsoleClient(server.endpoint)
    console.sign_in("test", "test")
    rows = lambda page: len(re.findall(r'<td><a href="/console/keys/', page.text))  # noqa: E731
    first = console.get("/console/keys?region=ap-southeast-2")
    assert rows(first) == 25 and "Page 1 of 2" in first.text and 'rel="next"' in first.text
    second = console.get("/console/keys?region=ap-southeast-2&page=2")
    assert rows(second) == 2 and 'rel="prev"' in second.text
    pending = console.get("/console/keys?region=ap-southeast-2&state=DELETE_PENDING")
    assert rows(pending) == 1 and arns[1].split("/")[-1] in pending.text
    assert rows(console.get("/console/keys?region=ap-southeast-2&usage=TR31_P0_PIN_ENCRYPTION_KEY")) == 0
    assert "27 key(s) in ap-southeast-2" in console.get("/console/keys?region=ap-southeast-2&algorithm=AES_128").text
    assert rows(console.get("/console/keys?region=us-east-1")) == 0


def test_a_key_removed_from_the_config_ends_its_sessions(server_factory):
    server = server_factory(config=accounts_config({ACCOUNT_A: [(KEY_A, SECRET_A), (KEY_A2, SECRET_A2)]}))
    gone, kept = ConsoleClient(server.endpoint), ConsoleClient(server.endpoint)
    assert gone.sign_in(KEY_A, SECRET_A).status == 303
    assert kept.sign_in(KEY_A2, SECRET_A2).status == 303
    server.config.write_text(accounts_config({ACCOUNT_A: [(KEY_A2, SECRET_A2)]}))
    server.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "accounts reloaded" not in server.log():
        assert time.monotonic() < deadline, "the config was not reloaded"
        time.sleep(0.1)
    ended = gone.get("/console/keys")
    assert ended.status == 303 and ended.headers["location"] == "/console/signin"
    assert kept.get("/console/keys").status == 200


def test_no_console_turns_it_off(server_factory):
    server = server_factory(extra_args=["--no-console"])
    page = ConsoleClient(server.endpoint).get("/console/signin")
    assert page.status != 200 and "Sign in" not in page.text


def test_a_restricted_user_sees_and_does_only_what_its_policy_allows(server_factory):
    """Users with identity policies sign in to the console: every page and action is checked
    like the API call behind it, so a read-only user sees keys but changes nothing, and a user
    limited to the data plane sees no key at all; each refusal is the API's AccessDeniedException
    and leaves the key as it was."""
    import json

    def policy(*statements):
        return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})

    viewer_policy = policy({"Effect": "Allow", "Resource": "*", "Action": [
        "payment-cryptography:List*", "payment-cryptography:Get*"]})
    issuer_policy = policy({"Effect": "Allow", "Resource": f"arn:aws:payment-cryptography:*:{ACCOUNT_A}:key/*",
                            "Action": ["payment-cryptography:VerifyPinData", "payment-cryptography:EncryptData"]})
    config = (
        "[[accounts]]\n"
        f'id = "{ACCOUNT_A}"\n'
        "credentials = [\n"
        f'  {{ access_key_id = "{KEY_A}", secret_access_key = "{SECRET_A}" }},\n'
        f"  {{ access_key_id = \"AKIDVIEWER\", secret_access_key = \"viewer-secret\", user = \"viewer\", policy = '{viewer_policy}' }},\n"
        f"  {{ access_key_id = \"AKIDISSUER\", secret_access_key = \"issuer-secret\", user = \"issuer\", policy = '{issuer_policy}' }},\n"
        "]\n"
    )
    server = server_factory(config=config)
    root = make_client(server.endpoint, access_key=KEY_A, secret=SECRET_A)
    arn = kek(root)
    key_id = arn.split("/")[-1]
    path = f"/console/keys/{key_id}"

    viewer = ConsoleClient(server.endpoint)
    assert viewer.sign_in("AKIDVIEWER", "viewer-secret").status == 303
    listed = viewer.get("/console/keys?region=us-east-1")
    assert listed.status == 200 and key_id in listed.text
    kcv = root.get_key(KeyIdentifier=arn)["Key"]["KeyCheckValue"]
    page = viewer.get(f"{path}?region=us-east-1")
    assert page.status == 200 and arn in page.text and kcv in page.text
    refused = viewer.post(f"{path}/disable", {"csrf": page.csrf(), "region": "us-east-1"})
    assert refused.status == 403, refused.text
    assert "AccessDeniedException" in refused.text
    assert f"arn:aws:iam::{ACCOUNT_A}:user/viewer is not authorized to perform: payment-cryptography:StopKeyUsage" in refused.text
    assert root.get_key(KeyIdentifier=arn)["Key"]["Enabled"] is True
    before = len(root.list_keys()["Keys"])
    form = {"usage": "TR31_K0_KEY_ENCRYPTION_KEY", "algorithm": "AES_128", "modes": "Encrypt+Decrypt+Wrap+Unwrap",
            "exportable": "on", "enabled": "on", "alias": "", "region": "us-east-1", "csrf": page.csrf()}
    assert viewer.post("/console/keys", form).status == 403
    assert len(root.list_keys()["Keys"]) == before

    issuer = ConsoleClient(server.endpoint)
    assert issuer.sign_in("AKIDISSUER", "issuer-secret").status == 303
    hidden = issuer.get("/console/keys?region=us-east-1")
    assert hidden.status == 403 and key_id not in hidden.text
    assert "payment-cryptography:ListKeys" in hidden.text
    hidden_key = issuer.get(f"{path}?region=us-east-1")
    assert hidden_key.status == 403 and kcv not in hidden_key.text
    assert "payment-cryptography:GetKey" in hidden_key.text
