"""`connect-hooks samples openapi`: a valid OpenAPI 3.1 document, true to the catalogue and the policy, usable by tools."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from connect_hooks import policy
from connect_hooks.catalogue import samples as catalogue
from connect_hooks.cli.main import main


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["samples", "openapi", *args], catch_exceptions=False)


@cache
def document_text() -> str:
    result = run()
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return result.stdout


def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(document_text())
    return loaded


def families_of_samples() -> dict[str, set[str]]:
    """family -> sample names, from `samples list --json` (the catalogue as the user sees it).

    Stories are left out: each step of one is a sample of a family already there.
    """
    listed = json.loads(CliRunner().invoke(main, ["samples", "list", "--json"]).stdout)
    out: dict[str, set[str]] = {}
    for item in listed:
        if item["kind"] == "story":
            continue
        out.setdefault(f"{item['kind']}/{item['channel']}", set()).add(item["name"])
    return out


def resolve(doc: dict[str, Any], node: dict[str, Any]) -> Any:
    """Follow one local ``$ref`` (``#/components/...``)."""
    if "$ref" not in node:
        return node
    target: Any = doc
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    return target


def test_the_document_is_valid_openapi_3_1_and_the_same_bytes_in_another_process() -> None:
    validate(document())
    assert document()["openapi"].startswith("3.1.")
    fresh = subprocess.run(
        [sys.executable, "-m", "connect_hooks", "samples", "openapi"], capture_output=True, check=True
    ).stdout
    assert fresh == document_text().encode("utf-8")


def test_one_webhook_per_family_with_its_schema_and_every_sample_as_an_example() -> None:
    doc = document()
    expected = families_of_samples()
    assert set(doc["webhooks"]) == set(expected)
    for family, names in expected.items():
        media = doc["webhooks"][family]["post"]["requestBody"]["content"]["application/json"]
        schema = resolve(doc, media["schema"])
        assert schema["title"] == catalogue.schema(family)["title"]
        examples = {key: resolve(doc, example) for key, example in media["examples"].items()}
        assert set(examples) == {name.split("/")[2] for name in names}
        checker = Draft202012Validator(catalogue.schema(family))
        for example in examples.values():
            checker.validate(example["value"])


def test_the_answers_say_what_the_policy_decides_for_each_status() -> None:
    doc = document()
    for operation in (doc["webhooks"]["receipt/sms"]["post"], doc["paths"]["/webhooks/webex-connect"]["post"]):
        responses = {key: resolve(doc, value)["description"] for key, value in operation["responses"].items()}
        for status in range(100, 600):
            decision = policy.decide(status, retries_left=1)
            if decision is policy.Decision.DELIVERED:
                assert responses[str(status)].startswith("Delivered")
            elif decision is policy.Decision.FAILED:
                assert "never retried" in responses[str(status)], status
            else:
                assert str(status) not in responses, status  # the default answer: retried
        assert "retried 3 times (waits 60 s, 60 s, 60 s), then dropped" in responses["default"]
    assert doc["x-connect-hooks-policy"]["notRetried"] == sorted(
        s for s in range(100, 600) if policy.decide(s, 1) is policy.Decision.FAILED
    )


def test_the_headers_webex_connect_sends_and_the_receivers_path() -> None:
    result = run("--path", "/hooks/in")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert list(doc["paths"]) == ["/hooks/in"]
    assert set(doc["paths"]["/hooks/in"]) == {"post", "head"}
    endpoint = doc["paths"]["/hooks/in"]["post"]
    body_schema = endpoint["requestBody"]["content"]["application/json"]["schema"]
    assert len(body_schema["anyOf"]) == len(doc["webhooks"])
    for operation in (endpoint, doc["webhooks"]["inbound/whatsapp"]["post"]):
        headers = {p["name"]: p for p in (resolve(doc, ref) for ref in operation["parameters"])}
        assert {name: (p["in"], p["required"]) for name, p in headers.items()} == {
            "x-hub-signature": ("header", False),
            "x-wx-gtrid": ("header", True),
        }
        signature = Draft202012Validator(headers["x-hub-signature"]["schema"])
        from connect_hooks.signing import sign

        assert signature.is_valid(sign(b"{}", "s", "sha512")) and signature.is_valid(sign(b"{}", "s", style="bare"))
        assert not signature.is_valid("sha1=" + "0" * 40)


def test_a_bad_path_is_one_line_exit_2() -> None:
    result = run("--path", "webhooks")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "--path 'webhooks'" in result.stderr


def test_yaml_is_the_same_document() -> None:
    result = run("--format", "yaml")
    assert result.exit_code == 0
    assert yaml.load(result.stdout, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) == document()
    assert result.stdout.startswith('openapi: "3.1.0"\n')


def load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("webex_connect_models", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the models' annotations through it
    spec.loader.exec_module(module)
    return module


def test_datamodel_codegen_makes_models_that_accept_every_sample(tmp_path: Path) -> None:
    source = tmp_path / "openapi.json"
    source.write_text(document_text(), encoding="utf-8")
    models = tmp_path / "webex_connect_models.py"
    command = [sys.executable, "-m", "datamodel_code_generator", "--input", str(source), "--input-file-type"]
    command += ["openapi", "--output", str(models), "--output-model-type", "pydantic_v2.BaseModel"]
    subprocess.run([*command, "--formatters", "builtin"], check=True, capture_output=True)
    try:
        module = load_module(models)
        for family, names in families_of_samples().items():
            model = getattr(module, "".join(part.capitalize() for part in family.split("/")))
            for name in sorted(names):
                model.model_validate_json(catalogue.render(name, seed=7))
        # and they are models, not Any: a status the family does not have is refused
        broken = json.loads(catalogue.render("receipt/sms/delivered"))
        broken["deliveryInfoNotification"]["deliveryInfo"]["deliveryStatus"] = "Read"
        with pytest.raises(ValueError):
            module.ReceiptSms.model_validate(broken)
    finally:
        sys.modules.pop("webex_connect_models", None)
