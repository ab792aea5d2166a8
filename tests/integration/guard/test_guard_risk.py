"""The risk score from recorded findings, read by `settle risk`, by `GET /v1/risk` on the service
on 127.0.0.1; and `settle peer resume` lifting a rule's pause, recording who did."""

from __future__ import annotations

import json
from collections.abc import Iterator

import eventsourcing.domain
import httpx
import pytest
from fraud_world import STRANGER, EventClock, World

from application.clock import ManualClock
from bootstrap.http import HttpServer
from bootstrap.node import open_node
from bootstrap.settings import Settings
from domain.peer_account import Direction, PeerAccount
from entrypoints.cli import main
from entrypoints.http.api.app import create_app
from entrypoints.http.api.auth import token_sha256
from entrypoints.http.api.settings import ApiClientSettings, ApiSettings, Scope
from projections.fraud_findings import RiskReader, risk_scores


@pytest.fixture
def world(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    clock = EventClock()
    monkeypatch.setattr(eventsourcing.domain, "datetime_now_with_tzinfo", clock)
    monkeypatch.setenv("DATABASE_URL", database_url)
    with open_node(Settings(database_url=database_url)) as node:
        world = World(node, clock)
        world.open("mallory")
        world.open("steady")
        world.packets("mallory", [1_000_000], Direction.INCOMING)
        world.claim(world.channel("mallory", partner=STRANGER), "mallory", 100)
        world.packets("steady", [100])
        assert [f["rule"] for f in world.run_rules()] == ["unexpected_signer"]
        yield world


def test_the_score_sums_the_weights_of_findings_within_the_window(world: World) -> None:
    now = world.clock.now
    [score] = risk_scores(world.node.pool, now)
    assert (score.peer_id, score.score, score.rules) == ("mallory", 50, {"unexpected_signer": 1})
    assert risk_scores(world.node.pool, now, peer="steady") == []
    world.clock.advance(hours=25)
    assert risk_scores(world.node.pool, world.clock.now) == []


def test_settle_risk_lists_the_score_and_fails_at_a_threshold(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--json", "risk"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["peer"], r["score"], r["rules"]) for r in rows] == [
        ("mallory", 50, "unexpected_signer x1")
    ]
    assert main(["--json", "risk", "steady", "--fail-at", "1"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["score"] == 0
    assert main(["--json", "risk", "--fail-at", "50"]) == 1


def test_the_api_serves_risk_scores_to_readers(world: World) -> None:
    settings = ApiSettings(
        clients={
            "reader": ApiClientSettings(
                token_sha256=token_sha256("tok-r"), scopes=frozenset({Scope.READ})
            )
        }
    )
    clock = ManualClock(world.clock.now)
    asgi = create_app(
        world.node.app, world.node.read_side(), settings, clock, risk=RiskReader(world.node.pool)
    )
    with HttpServer(asgi) as server, httpx.Client(base_url=server.url) as http:
        denied = http.get("/v1/risk")
        page = http.get("/v1/risk", headers={"Authorization": "Bearer tok-r"}).json()
    assert denied.status_code == 401
    [item] = page["items"]
    assert (item["peer_id"], item["score"], item["recent"][0]["rule"]) == (
        "mallory",
        50,
        "unexpected_signer",
    )
    assert item["recent"][0]["facts"]["signer"] == STRANGER


def test_settle_peer_resume_lifts_the_rules_pause_and_records_who(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert world.node.app.peer_account("mallory", "USD").paused_reason is not None
    assert main(["--json", "peer", "resume", "mallory", "--asset", "USD", "--by", "ops-bo"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["resumed"] is True and "unexpected_signer" in out["was_paused_for"]
    account_id = PeerAccount.create_id("mallory", "USD")
    history = world.node.app.history(account_id)
    resumed = [e for e in history if isinstance(e, PeerAccount.Resumed)]
    assert [e.resumed_by for e in resumed] == ["cli:ops-bo"]


def test_the_apis_resume_lifts_the_rules_pause_and_records_the_client(world: World) -> None:
    settings = ApiSettings(
        clients={
            "ops": ApiClientSettings(
                token_sha256=token_sha256("tok-o"), scopes=frozenset({Scope.OPERATOR})
            )
        }
    )
    asgi = create_app(world.node.app, world.node.read_side(), settings)
    with HttpServer(asgi) as server, httpx.Client(base_url=server.url) as http:
        response = http.post(
            "/v1/peers/mallory/assets/USD/resume", headers={"Authorization": "Bearer tok-o"}
        )
    assert response.status_code == 200 and response.json()["paused"] is False
    history = world.node.app.history(PeerAccount.create_id("mallory", "USD"))
    resumed = [e for e in history if isinstance(e, PeerAccount.Resumed)]
    assert [e.resumed_by for e in resumed] == ["api:ops"]
