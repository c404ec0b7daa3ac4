"""``conform`` end to end: real receivers on 127.0.0.1, each flaw named by exactly its checks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from connect_hooks.catalogue import samples as catalogue
from connect_hooks.cli.main import main
from connect_hooks.receiver.app import ReceiverApp, ReceiverSettings
from connect_hooks.receiver.tls import make_local_tls
from tests import conform_receivers as receivers
from tests.conform_receivers import SECRET, served

pytestmark = pytest.mark.e2e

ACCEPTS = [f"accepts/{name}" for name in catalogue.names()]
SMS = [f"accepts/{name}" for name in catalogue.names() if name.split("/")[1] == "sms"]
#: Every check that needs a 200 for a notification signed as Webex Connect signs it.
NEEDS_200 = ["duplicate-delivery", "out-of-order-receipts", "unknown-fields", "large-body", "concurrent"]
#: The samples that are a read receipt: a receiver needing "delivered" first refuses each on its own too.
READS = [
    f"accepts/{name}"
    for name in catalogue.names()
    if name.startswith("receipt/")
    and json.loads(catalogue.render(name))["deliveryInfoNotification"]["deliveryInfo"].get("deliveryStatus") == "Read"
]


def conform(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["conform", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def conform_json(url: str, *args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = conform(url + "/hooks", "--secret", SECRET, "--json", *args)
    assert err == ""
    return code, json.loads(out)


def test_the_project_receiver_passes_every_check_and_the_junit_file_says_so(tmp_path: Path) -> None:
    junit = tmp_path / "conform.xml"
    with served(ReceiverApp(ReceiverSettings(secret=SECRET))) as url:
        code, out, err = conform(url + "/hooks", "--junit", str(junit), env={"CONNECT_HOOKS_SECRET": SECRET})
    assert code == 0, out
    assert out.startswith(f"conform {url}/hooks\n")
    assert "  SKIP  url-https " in out
    assert out.rstrip().endswith(
        f"{len(ACCEPTS) + 12} passed, 0 failed, 2 skipped: the receiver holds up against Webex Connect"
    )
    assert "hub secret ******** (fingerprint" in err
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites"
    (suite,) = root
    assert suite.get("name") == "connect-hooks conform"
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == (str(len(ACCEPTS) + 14), "0", "2")
    assert next((p.get("name"), p.get("value")) for p in suite.iter("property")) == ("url", url + "/hooks")
    names = [case.get("name") for case in suite.iter("testcase")]
    assert names[:3] == ["url-https", "url-tls", "url-head-200"]
    assert names[3 : 3 + len(ACCEPTS)] == ACCEPTS
    assert names[3 + len(ACCEPTS) :] == [
        "rejects-unsigned",
        "rejects-wrong-secret",
        "rejects-tampered-body",
        "rejects-bad-signature-format",
        "raw-bytes",
        *NEEDS_200,
        "latency",
    ]
    skipped = {case.get("name"): case.find("skipped") for case in suite.iter("testcase")}
    assert {name for name, element in skipped.items() if element is not None} == {"url-https", "url-tls"}
    assert (
        skipped["url-tls"] is not None and skipped["url-tls"].get("message") == "plain http: no certificate to verify"
    )
    assert not list(suite.iter("failure"))


FLAWS = [
    # (receiver, extra options, the checks that must fail, the checks that must warn)
    (receivers.VerifiesReserialized, [], ["raw-bytes"], []),
    (receivers.AcceptsUnsigned, [], ["rejects-unsigned"], []),
    # 201 fails everything that needs a 200; raw-bytes cannot tell a re-serializer from it: a warning.
    (receivers.Answers201, [], [*ACCEPTS, *NEEDS_200], ["raw-bytes"]),
    (receivers.RejectsRedelivery, [], ["duplicate-delivery"], []),
    (receivers.NeedsDeliveredBeforeRead, [], [*READS, "out-of-order-receipts"], []),
    # its body with numbers carries keys no sample has: refused written and compact alike.
    (receivers.StrictSchema, [], ["unknown-fields"], ["raw-bytes"]),
    (receivers.StallsWhenUnsigned, ["--timeout", "2"], ["latency"], []),
    (receivers.BusyWith503, ["--channel", "sms"], ["concurrent"], []),
]


@pytest.mark.parametrize(("receiver", "options", "failing", "warning"), FLAWS, ids=[flaw[0].__name__ for flaw in FLAWS])
def test_each_flaw_fails_exactly_the_checks_it_explains(
    receiver: type[receivers.Receiver], options: list[str], failing: list[str], warning: list[str]
) -> None:
    with served(receiver()) as url:
        code, report = conform_json(url, *options)
    assert code == 1
    assert report["failed"] == failing
    assert report["warned"] == warning
    assert report["skipped"] == ["url-https", "url-tls"]
    assert SECRET not in json.dumps(report)
    for check in report["checks"]:
        if check["status"] == "fail":
            assert check["reproduce"].startswith(("connect-hooks s", "env -u ", "printf ", "SEED="))


def test_reproduce_lines_send_the_same_bytes_and_signature_again() -> None:
    app = receivers.TrustsEverything()
    only = "rejects,unknown-fields,large-body,out-of-order-receipts"
    with served(app) as url:
        code, report = conform_json(url, "--only", only, "--algorithm", "sha512", "--signature-style", "bare")
        assert report["failed"] == [
            "rejects-unsigned",
            "rejects-wrong-secret",
            "rejects-tampered-body",
            "rejects-bad-signature-format",
        ]
        sent = list(app.seen)
        assert len(sent) == 9  # 4 + 1 + 1 + the story's 3 receipts
        app.seen.clear()
        bin_dir = str(Path(sys.executable).parent)
        env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ["PATH"], "CONNECT_HOOKS_SECRET": SECRET}
        for check in report["checks"]:
            subprocess.run(["bash", "-c", check["reproduce"]], env=env, check=True, capture_output=True)
    assert code == 1
    assert sorted(app.seen, key=repr) == sorted(sent, key=repr)  # the same bytes under the same signature (or none)
    tampered = report["checks"][2]["reproduce"]
    assert "| connect-hooks sign --algorithm sha512 --signature-style bare)" in tampered


def test_a_failure_in_junit_carries_message_evidence_and_reproduce(tmp_path: Path) -> None:
    junit = tmp_path / "conform.xml"
    with served(receivers.RejectsRedelivery()) as url:
        code, _, _ = conform(url + "/hooks", "--secret", SECRET, "--only", "duplicate-delivery", "--junit", str(junit))
    assert code == 1
    (case,) = ET.parse(junit).getroot().iter("testcase")
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message", "").startswith("the same notification again (gtrid ")
    assert "answered 409, on the no-retry list" in failure.get("message", "")
    body = failure.text or ""
    assert "(second delivery)\n" in body
    assert "  answer: 409 in " in body
    assert "\nreproduce: connect-hooks send receipt/" in body
    assert "-H 'x-wx-gtrid: " in body
    assert SECRET not in junit.read_text()


def test_a_warning_is_shown_and_exits_0() -> None:
    with served(receivers.CrashesOnMalformedSignature()) as url:
        code, out, _ = conform(url + "/hooks", "--secret", SECRET, "--only", "rejects")
        verbose_code, verbose, _ = conform(url + "/hooks", "--secret", SECRET, "--only", "rejects", "--verbose")
    assert code == verbose_code == 0
    assert "  WARN  rejects-bad-signature-format  refused with 500: a malformed signature is bad input" in verbose
    assert "  PASS  rejects-*  3 of 4 checks\n" in out
    for text in (out, verbose):
        assert "\nWARN rejects-bad-signature-format: refused with 500: " in text
        assert text.rstrip().endswith("3 passed, 0 failed, 1 warned: the receiver holds up against Webex Connect")


def test_repeated_selection_options_add_up() -> None:
    with served(receivers.Receiver()) as url:
        code, report = conform_json(url, "--only", "rejects-unsigned", "--only", "url-head-200,unknown-fields")
    assert code == 0
    assert [c["id"] for c in report["checks"]] == ["url-head-200", "rejects-unsigned", "unknown-fields"]


def test_an_unreachable_url_fails_once_and_sends_nothing_more() -> None:
    with socket.socket() as bound:  # bound, not listening: connections are refused
        bound.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound.getsockname()[1]}"
        code, report = conform_json(url)
    assert code == 1
    assert report["failed"] == ["url-head-200"]
    assert report["checks"][2]["message"].startswith("HEAD got no answer: cannot connect: connection refused")
    assert report["passed"] == report["warned"] == []
    messages = {c["message"] for c in report["checks"][3:]}
    assert messages == {
        "not sent: the URL is not reachable (see url-head-200)",
        "no notification was sent: nothing to judge",
    }


def test_https_with_a_trusted_certificate_passes_the_url_rules(tmp_path: Path) -> None:
    tls = make_local_tls(tmp_path / "tls")
    with served(ReceiverApp(ReceiverSettings(secret=SECRET)), tls=tls) as url:
        trusted = conform_json(url, "--only", "url", "--ca-bundle", str(tls.ca_path))
        untrusted = conform_json(url, "--only", "url")
    assert trusted == (0, trusted[1])
    assert trusted[1]["passed"] == ["url-https", "url-tls", "url-head-200"]
    assert untrusted[0] == 1
    assert untrusted[1]["passed"] == ["url-https"]
    assert untrusted[1]["failed"] == ["url-tls", "url-head-200"]
    assert untrusted[1]["checks"][1]["message"].startswith("TLS failed: certificate verify failed")


def test_insecure_still_fails_url_tls_and_sends_the_rest(tmp_path: Path) -> None:
    tls = make_local_tls(tmp_path / "tls")
    with served(ReceiverApp(ReceiverSettings(secret=SECRET)), tls=tls) as url:
        code, report = conform_json(url, "--only", "url,unknown-fields", "--insecure")
    assert code == 1
    assert report["failed"] == ["url-tls"]
    assert report["passed"] == ["url-https", "url-head-200", "unknown-fields"]
    assert report["checks"][1]["message"].endswith("; probed again without verification (--insecure)")
    assert report["checks"][1]["reproduce"].endswith(" --insecure")


@pytest.mark.parametrize("verbose", [[], ["--verbose"]], ids=["one-page", "verbose"])
def test_failures_show_evidence_and_reproduce_for_people_without_secrets(verbose: list[str]) -> None:
    with served(receivers.AcceptsUnsigned()) as url:
        code, out, err = conform(
            url + "/hooks",
            "--only",
            "rejects-unsigned",
            "-H",
            "Authorization: Bearer tok-3141",
            *verbose,
            env={"CONNECT_HOOKS_SECRET": SECRET},
        )
    assert code == 1
    lines = out.splitlines()
    row = "  FAIL  rejects-unsigned  answered 200 to a notification without x-hub-signature"
    assert lines[1].startswith(row) if verbose else row not in out
    assert "FAIL rejects-unsigned: answered 200 to a notification without x-hub-signature: " in out
    assert "  why it matters: without the signature check anyone who finds the URL" in out
    assert "    Authorization: <value given to conform>\n" in out
    reproduce = next(line for line in lines if line.startswith("  reproduce: "))
    assert reproduce.startswith("  reproduce: env -u CONNECT_HOOKS_SECRET connect-hooks send receipt/")
    assert f" {url}/hooks --retries 0 --seed " in reproduce
    assert reproduce.endswith("-H 'Authorization: <value given to conform>'")
    assert "tok-3141" not in out + err
    assert SECRET not in out + err
    assert lines[-1] == "0 passed, 1 failed: the receiver does not hold up against Webex Connect"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--only", "acepts"], "error: --only 'acepts' is not a check ID or family: use url, accepts, rejects, "),
        (["--skip", "rejects-everything"], "error: --skip 'rejects-everything' is not a check ID or family"),
        (["--channel", "sms,fax"], "error: --channel 'fax' is not a channel of the catalogue: use apple, "),
        (["--junit", "{tmp}/no/such/dir/c.xml"], "error: --junit '{tmp}/no/such/dir/c.xml': the directory "),
        (["--junit", "{tmp}"], "error: --junit '{tmp}' is a directory: give a file name such as conform.xml"),
    ],
)
def test_bad_input_is_one_line_and_sends_nothing(args: list[str], message: str, tmp_path: Path) -> None:
    app = receivers.Receiver()
    with served(app) as url:
        code, out, err = conform(url + "/hooks", *[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert err.startswith(message.replace("{tmp}", str(tmp_path)))
    assert app.requests == 0
