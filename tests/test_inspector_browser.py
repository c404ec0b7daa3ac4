"""The inspector in a real browser: Debian's Chromium driven by Playwright, against a real ``listen --inspect``.

Notifications go to the receiver over loopback (``send``); the page must show them live, with the
raw body and the signature verdict, filter them, move with the keyboard, and download exactly the
``--log`` file. Set CONNECT_HOOKS_SCREENSHOT=docs/inspector.png to refresh the README's picture.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
SECRET = "inspector-hub-secret"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if not Path(CHROMIUM).exists():
    if os.environ.get("CONNECT_HOOKS_REQUIRE_BROWSER"):
        raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    pytest.skip("Chromium is not installed here (CI installs it)", allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


class Listen:
    def __init__(self, receiver: str, inspector: str, log: Path) -> None:
        self.receiver, self.inspector, self.log = receiver, inspector, log


@contextmanager
def listening(*args: str) -> Iterator[tuple[str, str | None]]:
    """``listen --port 0 ARGS`` in its own process: (receiver URL, inspector URL or None) from its banner."""
    env = {**os.environ, "CONNECT_HOOKS_SECRET": SECRET}
    argv = [sys.executable, "-m", "connect_hooks", "listen", "--port", "0", *args]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    assert process.stderr is not None
    receiver = inspector = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        if found := re.match(r"listening on (http://127\.0\.0\.1:\d+)", line):
            receiver = found.group(1)
        if found := re.search(r"inspector: (http://127\.0\.0\.1:\d+)/", line):
            inspector = found.group(1)
        if "Ctrl-C to stop" in line:
            break
    try:
        assert receiver, "listen did not print its address"
        yield receiver, inspector
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0, err  # stopped cleanly (in the relay test, with the page still connected)


@pytest.fixture
def listen(tmp_path: Path) -> Iterator[Listen]:
    log = tmp_path / "listen.ndjson"
    with listening("--inspect", "--inspect-port", "0", "--respond", "503,200", "--log", str(log)) as (
        receiver,
        inspector,
    ):
        assert inspector is not None
        yield Listen(receiver, inspector, log)


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


def send(url: str, target: str, *args: str) -> int:
    """``connect-hooks send`` in its own process (Playwright's sync API owns this thread's event loop)."""
    env = {**os.environ, "CONNECT_HOOKS_SECRET": SECRET}
    argv = [sys.executable, "-m", "connect_hooks", "send", target, url + "/hooks", "--fast", *args]
    return subprocess.run(argv, capture_output=True, env=env, timeout=60, check=False).returncode


def test_the_page_shows_requests_live_filters_moves_and_downloads_the_log(
    listen: Listen, browser: Browser, tmp_path: Path
) -> None:
    page: Page = browser.new_page(viewport={"width": 1400, "height": 820}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(listen.inspector + "/")
    expect(page.locator("#live")).to_have_text("live")
    rows = page.locator("#rows tr")
    expect(rows).to_have_count(0)

    assert send(listen.receiver, "receipt/sms/delivered") == 0  # 503, then 200 on the retry
    expect(rows).to_have_count(2)  # live: no reload
    assert send(listen.receiver, "inbound/whatsapp/mo", "--secret", "not-the-hub-secret", "--retries", "0") == 1
    expect(rows).to_have_count(3)

    log_file = listen.log
    log = [json.loads(line) for line in log_file.read_text().splitlines()]
    forged = log[-1]
    expect(rows.nth(0)).to_contain_text("MISMATCH")  # newest first
    expect(rows.nth(0)).to_contain_text("401")
    rows.nth(0).click()
    expect(page.locator("#raw")).to_have_text(forged["body"])
    expect(page.locator("#verdict")).to_contain_text("signature MISMATCH")
    expect(page.locator("#verdict")).to_contain_text(forged["reason"])

    page.keyboard.press("j")  # down: the delivery's retry (200)
    expect(rows.nth(1)).to_have_class(re.compile(r"\bselected\b"))
    expect(page.locator("#verdict")).to_contain_text("signature valid (sha256)")
    expect(page.locator("#timeline li")).to_have_count(2)  # both attempts of that gtrid
    page.keyboard.press("ArrowDown")
    expect(rows.nth(2)).to_have_class(re.compile(r"\bselected\b"))
    page.keyboard.press("k")
    expect(rows.nth(1)).to_have_class(re.compile(r"\bselected\b"))

    page.click("#replay-receiver")  # the same bytes, gtrid and signature again: attempt 3 of that gtrid
    expect(page.locator("#action-result")).to_have_text(re.compile(r"^the receiver answered 200 in \d+ ms$"))
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("#3")
    expect(rows.nth(0)).to_contain_text("valid (sha256)")
    expect(page.locator("#timeline li")).to_have_count(3)  # the selected request's timeline grew, live

    with page.expect_download() as download:
        page.click("#download")
    saved = tmp_path / "download.ndjson"
    download.value.save_as(saved)
    assert saved.read_text() == log_file.read_text()  # the listen --log format, byte for byte
    replayed = json.loads(saved.read_text().splitlines()[-1])
    assert (replayed["body"], replayed["headers"]["x-hub-signature"]) == (
        log[0]["body"],
        log[0]["headers"]["x-hub-signature"],
    )
    # ... and `replay` reads it: the delivered notification (last answered 200) goes again, exactly; a new row.
    env = {**os.environ, "CONNECT_HOOKS_SECRET": SECRET}
    argv = [sys.executable, "-m", "connect_hooks", "replay", str(saved), listen.receiver + "/hooks", "--status", "200"]
    assert subprocess.run([*argv, "--fast"], capture_output=True, env=env, timeout=60, check=False).returncode == 0
    expect(rows).to_have_count(5)
    expect(rows.nth(0)).to_contain_text("#4")
    expect(rows.nth(0)).to_contain_text("valid (sha256)")

    screenshot = os.environ.get("CONNECT_HOOKS_SCREENSHOT")
    if screenshot:
        page.screenshot(path=screenshot)

    page.fill("#search", forged["gtrid"])
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_contain_text("MISMATCH")
    page.fill("#search", "x-hub-signature: " + log[0]["headers"]["x-hub-signature"])
    expect(rows).to_have_count(4)
    page.fill("#search", "")
    expect(rows).to_have_count(5)
    assert SECRET not in page.content()
    assert errors == []


def test_when_relaying_the_page_shows_the_forward_hop_and_replays_to_the_app(browser: Browser) -> None:
    with (
        listening("--respond", "202") as (app, _),
        listening("--inspect", "--inspect-port", "0", "--forward-to", app + "/app") as (receiver, inspector),
    ):
        assert inspector is not None
        page = browser.new_page(viewport={"width": 1400, "height": 820})
        page.goto(inspector + "/")
        expect(page.locator("#where")).to_contain_text("relaying to " + app + "/app")
        assert (
            send(receiver, "receipt/whatsapp/read") == 1
        )  # the app answers 202: not delivered, as Webex Connect sees it
        rows = page.locator("#rows tr")
        expect(rows).to_have_count(1)  # 202 is not 200, and not retried either
        expect(rows.nth(0)).to_contain_text("⇄ app 202")
        rows.nth(0).click()
        hop = page.locator("table.kv").first
        expect(hop).to_contain_text(app + "/app")
        expect(hop).to_contain_text("202")
        page.click("#replay-app")
        expect(page.locator("#action-result")).to_have_text(re.compile(r"^the app answered 202 in \d+ ms$"))
        expect(rows).to_have_count(1)  # straight to the app: the receiver saw nothing new


def test_payload_text_that_looks_like_html_is_shown_as_text(listen: Listen, browser: Browser) -> None:
    import httpx

    from connect_hooks import sign

    attack = "<img src=x onerror=\"document.title='pwned'\">"
    body = json.dumps({"channel": attack, "event": "a &amp; b", "message": "<b>bold</b> &lt;"}).encode()
    headers = {"x-hub-signature": sign(body, SECRET), "x-wx-gtrid": "g-html", "x-note": "<i>&amp;</i>"}
    page: Page = browser.new_page(viewport={"width": 1400, "height": 820})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(listen.inspector + "/")
    expect(page.locator("#live")).to_have_text("live")
    with httpx.Client(trust_env=False) as client:
        assert client.post(listen.receiver + "/hooks", content=body, headers=headers).status_code == 503
    rows = page.locator("#rows tr")
    expect(rows).to_have_count(1)
    expect(rows.nth(0).locator("td.what")).to_have_text(f"inbound {attack} a &amp; b")  # the list: as text
    rows.nth(0).click()
    expect(page.locator("#raw")).to_have_text(body.decode())  # the raw body, character for character
    expect(page.locator("#pretty")).to_contain_text('"message": "<b>bold</b> &lt;"')
    expect(page.locator("table.kv").last).to_contain_text("<i>&amp;</i>")  # the headers
    shot = Path("/tmp/connect-hooks-inspector-html-payload.png")
    page.screenshot(path=str(shot))
    assert page.locator("#rows img, #rows b, #rows i, #detail img, #detail i").count() == 0  # none made of them
    expect(page.locator("#detail b")).to_have_text(["signature valid (sha256)"])  # the page's own, alone
    assert page.title() == "connect-hooks inspector" and errors == []
