"""Webhook profiles: a team records its webhook once and commits it.

``connect-hooks.toml`` in the current directory (or ``--config FILE``, or ``[tool.connect-hooks]``
in ``pyproject.toml``) holds ``[webhooks.NAME]`` tables::

    [webhooks.prod]
    url = "https://hooks.example.com/webex"
    algorithm = "sha512"             # signature_style, schedule, ca_bundle, client_cert, client_key too
    secret_env = "PROD_HUB_SECRET"   # or secret_file = "secrets/hub"

    [webhooks.prod.auth]
    type = "oauth2"
    token_url = "https://auth.example.com/oauth/token"
    client_id = "webex-connect"
    client_secret_env = "PROD_CLIENT_SECRET"

Secrets are only ever references (``*_env`` names a variable, ``*_file`` a file, relative to the
profiles file); a literal secret in the file is bad input. A profile is one more source of
settings: the command line wins, and nothing here sends anything.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from connect_hooks.client.credentials import AUTH_TYPES, AuthSpec
from connect_hooks.errors import BadInput
from connect_hooks.redaction import redact_url

FILE_NAME = "connect-hooks.toml"

#: Keys that would hold a secret in clear, and the reference to write instead.
LITERAL_SECRETS: dict[str, str] = {
    "secret": "secret_env",
    "hub_secret": "secret_env",
    "password": "password_env",
    "api_key": "api_key_env",
    "key_value": "api_key_env",
    "client_secret": "client_secret_env",
    "token": "an environment variable",
    "access_token": "an environment variable",
    "aws_secret_access_key": "the AWS_SECRET_ACCESS_KEY variable",
    "secret_key": "the AWS_SECRET_ACCESS_KEY variable",
    "aws_session_token": "the AWS_SESSION_TOKEN variable",
    "client_cert_password": "client_cert_password_env",
}

WEBHOOK_KEYS = {
    "url",
    "algorithm",
    "signature_style",
    "schedule",
    "ca_bundle",
    "client_cert",
    "client_key",
    "client_cert_password_env",
    "secret_env",
    "secret_file",
    "auth",
}
#: auth table key -> AuthSpec field
AUTH_KEYS = {
    "type": "type",
    "user": "user",
    "password_env": "password_env",
    "password_file": "password_file",
    "header": "api_key_header",
    "api_key_env": "api_key_env",
    "api_key_file": "api_key_file",
    "token_url": "token_url",
    "client_id": "client_id",
    "scope": "scope",
    "client_secret_env": "client_secret_env",
    "client_secret_file": "client_secret_file",
    "client_auth": "client_auth",
    "region": "aws_region",
    "service": "aws_service",
}
PATH_KEYS = {
    "ca_bundle",
    "client_cert",
    "client_key",
    "secret_file",
    "password_file",
    "api_key_file",
    "client_secret_file",
}
CHOICES = {
    "algorithm": ("sha256", "sha512"),
    "signature_style": ("prefixed", "bare"),
    "schedule": ("fixed", "backoff"),
    "client_auth": ("body", "basic"),
    "type": AUTH_TYPES,
}


@dataclass(frozen=True)
class Webhook:
    """One ``[webhooks.NAME]`` table, checked; file paths made absolute."""

    name: str
    source: str
    url: str | None = None
    algorithm: str | None = None
    signature_style: str | None = None
    schedule: str | None = None
    ca_bundle: str | None = None
    secret_env: str | None = None
    secret_file: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    client_cert_password_env: str | None = None
    auth: Mapping[str, str] = field(default_factory=dict)  # AuthSpec field -> value

    def plain_settings(self) -> dict[str, str | None]:
        """Settings that map one to one on command options of the same name."""
        return {
            "algorithm": self.algorithm,
            "signature_style": self.signature_style,
            "schedule": self.schedule,
            "ca_bundle": self.ca_bundle,
        }

    def as_dict(self, environ: Mapping[str, str]) -> dict[str, Any]:
        """For ``connect-hooks webhooks``: every setting, secrets shown only as masked references."""
        from connect_hooks.client.hubsecret import masked

        def reference(env: str | None, file: str | None) -> str | None:
            if file is not None:
                return f"file {file}"
            if env is None:
                return None
            value = environ.get(env)
            return f"${env} " + (masked(value) if value else "(not set)")

        auth = dict(self.auth)
        shown: dict[str, Any] = {k: v for k, v in auth.items() if not k.endswith(("_env", "_file"))}
        if "token_url" in shown:
            shown["token_url"] = redact_url(shown["token_url"])
        for secret in ("password", "api_key", "client_secret"):
            env, file = auth.get(f"{secret}_env"), auth.get(f"{secret}_file")
            if env is not None or file is not None:
                shown[secret] = reference(env, file)
        return {
            "name": self.name,
            "source": self.source,
            "url": redact_url(self.url) if self.url is not None else None,
            "algorithm": self.algorithm,
            "signature_style": self.signature_style,
            "schedule": self.schedule,
            "ca_bundle": self.ca_bundle,
            "hub_secret": reference(self.secret_env, self.secret_file),
            "auth": shown or None,
            "client_cert": self.client_cert,
            "client_key": self.client_key,
            "client_cert_password": reference(self.client_cert_password_env, None),
        }


def find_config(config: str | None, cwd: Path) -> tuple[Path, dict[str, Any]] | None:
    """(file, its webhook tables' parent table) from --config, connect-hooks.toml or pyproject.toml."""
    if config is not None:
        path = Path(config)
        document = _read_toml(path, "--config")
        table = document.get("tool", {}).get("connect-hooks") if path.name == "pyproject.toml" else document
        return path, table if isinstance(table, dict) else {}
    local = cwd / FILE_NAME
    if local.exists():
        return local, _read_toml(local, FILE_NAME)
    pyproject = cwd / "pyproject.toml"
    if pyproject.exists():
        tool = _read_toml(pyproject, "pyproject.toml").get("tool", {})
        table = tool.get("connect-hooks") if isinstance(tool, dict) else None
        if isinstance(table, dict):
            return pyproject, table
    return None


def _read_toml(path: Path, what: str) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise BadInput(
            f"{what} {str(path)!r} does not exist: give the file that holds your [webhooks.NAME] tables"
        ) from None
    except IsADirectoryError:
        raise BadInput(f"{what} {str(path)!r} is a directory: give the profiles file") from None
    except OSError as exc:
        raise BadInput(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"{str(path)!r} is not valid TOML ({exc}): fix the file") from None


def _check_table(table: Mapping[str, Any], allowed: set[str], where: str, base: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in table.items():
        if key in LITERAL_SECRETS:
            instead = LITERAL_SECRETS[key]
            hint = f'write {instead} = "VARIABLE"' if instead.endswith("_env") else f"use {instead}"
            raise BadInput(
                f"{where} holds a literal secret ({key} = ...): never store secrets in the file; {hint} instead"
            )
        if key not in allowed:
            raise BadInput(f"{where} has an unknown key {key!r}: use {', '.join(sorted(allowed))}")
        if key == "auth":
            continue
        if not isinstance(value, str) or not value:
            raise BadInput(f"{where}: {key} must be a non-empty string")
        if key in CHOICES and value not in CHOICES[key]:
            raise BadInput(f"{where}: {key} = {value!r} is not one of {', '.join(CHOICES[key])}")
        if key in PATH_KEYS:
            value = str((base / value).resolve()) if not Path(value).is_absolute() else value
        out[key] = value
    return out


def load_webhooks(config: str | None, cwd: Path) -> list[Webhook]:
    """Every profile in the profiles file, checked (bad input for a literal secret or an unknown key)."""
    found = find_config(config, cwd)
    if found is None:
        return []
    path, document = found
    tables = document.get("webhooks", {})
    if not isinstance(tables, dict):
        raise BadInput(f"{str(path)!r}: 'webhooks' must be a table of [webhooks.NAME] tables")
    out: list[Webhook] = []
    for name, table in tables.items():
        where = f"webhook {name!r} in {str(path)!r}"
        if not isinstance(table, dict):
            raise BadInput(f"{where} is not a table: write [webhooks.{name}] with url = ...")
        plain = _check_table(table, WEBHOOK_KEYS, where, path.parent)
        auth_table = table.get("auth", {})
        if not isinstance(auth_table, dict):
            raise BadInput(f"{where}: auth must be a table: [webhooks.{name}.auth] with type = ...")
        auth_values = _check_table(auth_table, set(AUTH_KEYS), f"the auth of {where}", path.parent)
        if auth_values and "type" not in auth_values:
            raise BadInput(f"the auth of {where} has no type: add type = one of {', '.join(AUTH_TYPES)}")
        out.append(
            Webhook(
                name=name,
                source=str(path),
                auth={AUTH_KEYS[k]: v for k, v in auth_values.items()},
                **{k: v for k, v in plain.items()},
            )
        )
    return out


def load_webhook(name: str, config: str | None, cwd: Path) -> Webhook:
    """The profile called ``name``; bad input when there is no such profile or no profiles file."""
    webhooks = load_webhooks(config, cwd)
    if not webhooks:
        where = repr(config) if config is not None else f"{FILE_NAME} (or [tool.connect-hooks] in pyproject.toml) here"
        raise BadInput(f"no webhook profiles in {where}: add a [webhooks.{name}] table with url = ...")
    for webhook in webhooks:
        if webhook.name == name:
            return webhook
    known = ", ".join(w.name for w in webhooks)
    raise BadInput(f"no webhook profile {name!r} in {webhooks[0].source!r}: known profiles are {known}")


def merge_credentials(profile: Webhook, spec: AuthSpec, explicit: set[str]) -> AuthSpec:
    """``spec`` (from the command line) with the profile's auth and client certificate filled in.

    A field the user gave explicitly wins; a different ``--auth`` type on the command line drops
    the profile's auth settings altogether.
    """
    changes: dict[str, str] = {}
    auth = dict(profile.auth)
    if "type" not in explicit or spec.type == auth.get("type"):
        changes.update({k: v for k, v in auth.items() if k not in explicit})
    if "client_cert" not in explicit:  # a certificate given on the command line brings its own key
        for key in ("client_cert", "client_key"):
            value = getattr(profile, key)
            if value is not None and key not in explicit:
                changes[key] = value
    if profile.client_cert_password_env is not None:
        changes["client_cert_password_env"] = profile.client_cert_password_env
    return replace(spec, **changes)
