"""The deployment files: docker-compose.yml validates in every profile, the dev services'
environment is a valid configuration that settles on the deployed contracts, the prod profile's
gate refuses default secrets and missing rails, and the CLI runs without devtools (the image
removes it).

`docker compose config` (or Debian's `docker-compose`) is installed when the test runs as root,
otherwise the compose tests are skipped with the reason. No container is started.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.support.debian import debian_tool

REPO = Path(__file__).resolve().parents[3]
GATE = REPO / "deploy" / "docker" / "check-prod-env"
PROFILES = ("dev", "prod")
TOKEN_NETWORK = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"  # devtools/deploy_contracts.py


def _compose_command() -> list[str]:
    docker = shutil.which("docker")
    if docker is not None:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=60)
        if probe.returncode == 0:
            return [docker, "compose"]
    return [debian_tool("docker-compose", "docker-compose")]


def _compose(profile: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # Only the variables given: the developer's own .env or shell must not change the outcome.
    environment = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), **env}
    with tempfile.NamedTemporaryFile("w", suffix=".env") as empty:
        return subprocess.run(
            [*_compose_command(), "--project-directory", str(REPO), "-f",
             str(REPO / "docker-compose.yml"), "--env-file", empty.name, "--profile", profile,
             *args],
            cwd=REPO, env=environment, capture_output=True, text=True, timeout=120,
        )  # fmt: skip


def _rendered(profile: str, env: dict[str, str]) -> dict[str, Any]:
    """The configuration compose would run, interpolated, as a dictionary."""
    result = _compose(profile, "config", env=env)
    assert result.returncode == 0, result.stderr
    compose = _compose_command()
    if compose[-1] == "compose":  # Compose v2 prints JSON itself
        as_json = _compose(profile, "config", "--format", "json", env=env)
        rendered: dict[str, Any] = json.loads(as_json.stdout)
        return rendered
    # Debian's docker-compose is Python with PyYAML: its interpreter reads the YAML.
    interpreter = Path(compose[0]).read_text().splitlines()[0].removeprefix("#!").split()
    converted = subprocess.run(
        [*interpreter, "-c",
         "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))"],
        input=result.stdout, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    rendered = json.loads(converted.stdout)
    return rendered


def _settings_from(environment: dict[str, str]) -> Any:
    """The node's settings as `settle` would read them from this environment."""
    code = (
        "import json, sys; from bootstrap.settings import load_settings; "
        "s = load_settings(); print(s.model_dump_json())"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SETTLE_")}
    clean.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", code], env={**clean, **environment}, cwd=REPO,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _gate(environment: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GATE), *command],
        env={"PATH": os.environ["PATH"], **environment},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def _environment(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    return {name: "" if value is None else str(value) for name, value in raw.items()}


@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_validates(profile: str) -> None:
    result = _compose(profile, "config", "--quiet", env={})
    assert result.returncode == 0, result.stderr


def test_dev_profile_settles_on_the_deployed_contracts_out_of_the_box() -> None:
    services = _rendered("dev", {})["services"]
    deploy = services["anvil-deploy"]["entrypoint"]
    assert deploy[:3] == ["python", "-m", "devtools.deploy_contracts"]
    for name in ("settle-dev", "settle-dev-standby"):
        environment = _environment(services[name])
        environment.pop("DATABASE_URL")  # the compose host name; the settings only parse it
        settings = _settings_from(environment)
        [rail] = settings["rails"]["rails"]
        assert rail["token_network"] == TOKEN_NETWORK
        assert settings["chain"]["backend"] == "rpc" and settings["chain"]["chain_id"] == 31337
    dev_hosts = {
        alias
        for name in ("settle-dev", "settle-dev-standby")
        for alias in services[name]["networks"]["default"]["aliases"]
    }
    scraped = (REPO / "deploy" / "prometheus" / "prometheus.yml").read_text()
    assert all(f"{host}:8080" in scraped for host in dev_hosts | {"settle", "settle-standby"})


def test_prod_profile_refuses_the_default_secrets_of_env_example() -> None:
    example = {}
    for line in (REPO / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            example[name] = value
    services = _rendered("prod", example)["services"]
    for name in ("settle", "settle-standby"):
        assert services[name]["entrypoint"] == ["check-prod-env", "settle"]
        refused = _gate(_environment(services[name]), "true")
        assert refused.returncode == 2, refused.stderr
        for variable in ("DATABASE_URL", "SETTLE_CHAIN_KEYSTORE_PASSWORD", "SETTLE_RAILS",
                         "SETTLE_API__CLIENTS"):  # fmt: skip
            assert f"check-prod-env: {variable}:" in refused.stderr
        assert "change-me" not in refused.stderr.replace("'change-me'", "")
    # PostgreSQL and Grafana: their own gate, run on the environment compose renders for them.
    gated_secrets = {"postgres": "POSTGRES_PASSWORD", "grafana": "GF_SECURITY_ADMIN_PASSWORD"}
    for name, secret in gated_secrets.items():
        entrypoint = services[name]["entrypoint"]
        assert entrypoint[:3] == ["/bin/sh", "/run/gate/require-secrets", secret], entrypoint
        gated = subprocess.run(
            ["sh", str(REPO / "deploy" / "docker" / "require-secrets"), secret, "--", "true"],
            env={"PATH": os.environ["PATH"], **_environment(services[name])},
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert gated.returncode == 2 and f"require-secrets: {secret}: " in gated.stderr


def test_prod_gate_refuses_the_development_key_and_starts_on_real_configuration() -> None:
    rails = {"rails": [{"name": "main", "chain_id": 1, "rpc_url": "https://rpc.example",
                        "token_network": TOKEN_NETWORK, "token": "0x" + "11" * 20,
                        "estimated_cost": 1, "estimated_latency_ms": 1}]}  # fmt: skip
    good = {
        "DATABASE_URL": "postgresql://settle:s3cret@postgres/settlement",
        "SETTLE_CHAIN__RPC_URL": "https://rpc.example",
        "SETTLE_CHAIN__CHAIN_ID": "1",
        "SETTLE_CHAIN_PRIVATE_KEY": "0x" + "22" * 32,
        "SETTLE_RAILS": json.dumps(rails),
        "SETTLE_API__CLIENTS": json.dumps({"ops": {"token_sha256": "ab" * 32, "scopes": ["read"]}}),
        "SETTLE_CLAIMS__TOKENS": "",
        "SETTLE_CHAIN__BACKEND": "rpc",
    }
    marker = "SETTLE_CLAIMS__TOKENS=" + "unset"
    probe = (
        f"import os; print({marker!r} if 'SETTLE_CLAIMS__TOKENS' not in os.environ else 'leaked')"
    )
    started = _gate(good, sys.executable, "-c", probe)
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == marker
    anvil_key = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
    refused = _gate({**good, "SETTLE_CHAIN_PRIVATE_KEY": anvil_key}, "true")
    assert refused.returncode == 2
    assert "SETTLE_CHAIN_PRIVATE_KEY: is a public development key" in refused.stderr
    no_rails = _gate({**good, "SETTLE_RAILS": json.dumps({"rails": []})}, "true")
    assert no_rails.returncode == 2 and "SETTLE_RAILS: has no rails" in no_rails.stderr
    no_password = _gate({**good, "DATABASE_URL": "postgresql://settle:@postgres/settlement"})
    assert no_password.returncode == 2 and "DATABASE_URL: has no password" in no_password.stderr


def test_prod_gate_takes_a_rail_with_rpc_urls_only_and_refuses_one_without_endpoints() -> None:
    """Several endpoints per rail (failover) need no `rpc_url`; a rail with none is refused."""
    rail = {"name": "main", "chain_id": 1, "token_network": TOKEN_NETWORK,
            "token": "0x" + "11" * 20, "estimated_cost": 1, "estimated_latency_ms": 1,
            "rpc_urls": ["https://a.example", "https://b.example"]}  # fmt: skip
    good = {
        "DATABASE_URL": "postgresql://settle:s3cret@postgres/settlement",
        "SETTLE_CHAIN__RPC_URL": "https://a.example",
        "SETTLE_CHAIN__CHAIN_ID": "1",
        "SETTLE_CHAIN__BACKEND": "rpc",
        "SETTLE_CHAIN_PRIVATE_KEY": "0x" + "22" * 32,
        "SETTLE_RAILS": json.dumps({"rails": [rail]}),
        "SETTLE_API__CLIENTS": json.dumps({"ops": {"token_sha256": "ab" * 32, "scopes": ["read"]}}),
    }
    started = _gate(good, "true")
    assert started.returncode == 0, started.stderr
    endless = {key: value for key, value in rail.items() if key != "rpc_urls"}
    refused = _gate({**good, "SETTLE_RAILS": json.dumps({"rails": [endless]})}, "true")
    assert refused.returncode == 2
    assert "SETTLE_RAILS: rails[0] has neither rpc_url nor rpc_urls" in refused.stderr
    without_chain_url = {k: v for k, v in good.items() if k != "SETTLE_CHAIN__RPC_URL"}
    refused = _gate(without_chain_url, "true")
    assert "SETTLE_CHAIN__RPC_URL: missing; needed with SETTLE_CHAIN__BACKEND=rpc" in refused.stderr


def test_the_cli_runs_without_devtools(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runtime image deletes devtools/: `settle` must still build every other command."""
    for name in [m for m in sys.modules if m == "devtools" or m.startswith("devtools.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "devtools", None)  # import devtools -> ModuleNotFoundError
    from entrypoints.cli import build_parser

    action = build_parser()._subparsers._group_actions[0]  # type: ignore[union-attr]
    commands = set(action.choices or ())
    assert "demo" not in commands
    assert {"run", "verify", "replay", "balances", "migrate"} <= commands


def test_the_runtime_image_drops_devtools_and_runs_as_a_user() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    runtime = dockerfile.split("AS runtime", 1)[1]
    assert "rm -rf /app/devtools" in runtime and "USER settle" in runtime
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
