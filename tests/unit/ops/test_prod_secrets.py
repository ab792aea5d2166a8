"""No production service starts on a placeholder secret: docker-compose.yml gives no prod secret
a default and gates every service that holds one (`require-secrets` for PostgreSQL and Grafana,
`check-prod-env` for the nodes); the gate refuses unset, empty and `change-me` values; and the
node's own settings check refuses them at start, one line naming the variable, exit 2.

Compose's `${VAR:?}` is deliberately absent: compose interpolates every service before applying
profiles, so a required prod variable would also stop `--profile dev` (checked with Debian's
docker-compose 1.29; Compose v2 behaves the same).
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bootstrap.settings import ConfigurationError, load_settings

yaml = pytest.importorskip("yaml", reason="PyYAML reads docker-compose.yml")

REPO = Path(__file__).resolve().parents[3]
GATE = REPO / "deploy" / "docker" / "require-secrets"
SECRETS = (
    "POSTGRES_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
    "SETTLE_CHAIN_PRIVATE_KEY",
    "SETTLE_CHAIN_KEYSTORE_PASSWORD",
    "SETTLE_API__CLIENTS",
    "SETTLE_CLAIMS__TOKENS",
)
PLACEHOLDER_HASH = hashlib.sha256(b"change-me").hexdigest()
_REFERENCE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?P<op>:?[-?])?(?P<default>[^}]*)\}")


def _services() -> dict[str, dict[str, Any]]:
    document = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services: dict[str, dict[str, Any]] = document["services"]
    return services


def _secret_references(service: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Environment variable -> (secret it interpolates, its default)."""
    found = {}
    for variable, value in (service.get("environment") or {}).items():
        for match in _REFERENCE.finditer(str(value)):
            if match["name"] in SECRETS:
                found[variable] = (match["name"], match["default"])
    return found


def _prod(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in services.items() if "prod" in s.get("profiles", [])}


def test_prod_secrets_have_no_default_and_each_holder_is_gated() -> None:
    prod = _prod(_services())
    holders = {name: refs for name, s in prod.items() if (refs := _secret_references(s))}
    assert {"postgres", "grafana", "settle", "settle-standby"} <= set(holders)
    for name, references in holders.items():
        entrypoint = [str(part) for part in prod[name].get("entrypoint") or []]
        for variable, (secret, default) in references.items():
            assert default == "", f"{name}: {variable} defaults {secret} to {default!r}"
            if entrypoint[:1] == ["check-prod-env"]:
                continue  # the node's gate checks every SETTLE_ secret and DATABASE_URL
            assert entrypoint[:2] == ["/bin/sh", "/run/gate/require-secrets"], name
            assert variable in entrypoint[: entrypoint.index("--")], (name, variable)
        if entrypoint[:2] == ["/bin/sh", "/run/gate/require-secrets"]:
            mounts = [str(volume) for volume in prod[name].get("volumes", [])]
            assert "./deploy/docker/require-secrets:/run/gate/require-secrets:ro" in mounts


def test_no_service_uses_the_placeholder_or_a_required_variable() -> None:
    """`change-me` nowhere (dev has fixed development values the node accepts), and no `:?`,
    which would make every profile need the prod secrets."""
    for name, service in _services().items():
        text = yaml.safe_dump(service)
        assert "change-me" not in text.lower(), name
        assert ":?" not in text, name


def _gate(environment: dict[str, str], *names: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(GATE), *names, "--", sys.executable, "-c", "print('started')"],
        env={"PATH": os.environ["PATH"], **environment},
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip


@pytest.mark.parametrize("value", ["change-me", "Change-Me", ""])
def test_the_gate_refuses_placeholders_naming_the_variable(value: str) -> None:
    environment = {"GF_SECURITY_ADMIN_PASSWORD": "a-real-one"}
    if value:
        environment["POSTGRES_PASSWORD"] = value
    refused = _gate(environment, "POSTGRES_PASSWORD", "GF_SECURITY_ADMIN_PASSWORD")
    assert refused.returncode == 2
    assert refused.stdout == ""
    lines = refused.stderr.splitlines()
    assert lines[0].startswith("require-secrets: POSTGRES_PASSWORD: ")
    assert len(lines) == 2 and "refusing to start" in lines[1]
    assert value == "" or value not in refused.stderr.replace("'change-me'", "")


def test_the_gate_starts_the_image_entrypoint_on_real_secrets() -> None:
    started = _gate({"POSTGRES_PASSWORD": "s3cret-xyz"}, "POSTGRES_PASSWORD")
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "started"


def _clear_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("SETTLE_") or n == "DATABASE_URL"]:
        monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "postgresql://settle:change-me@db.invalid:5432/settlement"),
        ("SETTLE_CLAIMS__TOKENS", '{"peer-b": "change-me"}'),
        ("SETTLE_CLAIMS__TOKENS", '{"peer-b": ""}'),
        ("SETTLE_API__CLIENTS",
         f'{{"ops": {{"token_sha256": "{PLACEHOLDER_HASH}", "scopes": ["read"]}}}}'),
        ("SETTLE_ENGINE__CONNECTOR_TOKEN", "CHANGE-ME"),
    ],
)  # fmt: skip
def test_settings_refuse_each_placeholder_secret(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clear_settings(monkeypatch)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert raised.value.setting == variable
    assert "change-me" not in raised.value.problem.replace("'change-me'", "")


def test_settings_accept_real_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear_settings(monkeypatch)
    monkeypatch.setenv("DATABASE_URL", "postgresql://settle:s3cret@db.invalid/settlement")
    monkeypatch.setenv("SETTLE_CLAIMS__TOKENS", '{"peer-b": "a-shared-token"}')
    settings = load_settings()
    assert settings.database_url is not None and list(settings.claims.tokens) == ["peer-b"]


def test_the_node_refuses_to_start_on_a_placeholder_one_line_exit_2(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SETTLE_")}
    clean["DATABASE_URL"] = "postgresql://settle:change-me@db.invalid:5432/settlement"
    result = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "run"],
        env={**clean, "PYTHONPATH": str(REPO)},
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("settle: configuration error: DATABASE_URL: "), line
    assert "change-me" not in line.replace("'change-me'", "")
