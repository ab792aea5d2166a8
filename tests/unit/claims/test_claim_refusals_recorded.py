"""A claim refused for a fault of the sender is recorded on its account (`ClaimRefused`), bounded
in size; one the sender may cure by sending later is not; without an account nothing is."""

from __future__ import annotations

import pytest

from application.app import SettlementApp
from application.claim_handling import ClaimOutcome
from application.claim_messages import Claim, RejectionCode
from application.claim_refusals import RECORDED_REFUSALS, record_refusal
from domain.money import Asset
from domain.peer_account import PeerAccount
from domain.received_claims import MAX_REFUSAL_TEXT
from tests.unit.claims.test_claim_messages import claim_document


@pytest.fixture
def app() -> SettlementApp:
    app = SettlementApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.open_peer_account("node-a", Asset("USDC", 6), 10**9, 0, 10**9)
    return app


def refusals(app: SettlementApp) -> list[PeerAccount.ClaimRefused]:
    history = app.history(PeerAccount.create_id("node-a", "USDC"))
    return [e for e in history if isinstance(e, PeerAccount.ClaimRefused)]


def test_a_bad_signature_is_recorded_with_its_code_and_detail(app: SettlementApp) -> None:
    claim = Claim.model_validate(claim_document())
    record_refusal(app, claim, ClaimOutcome.rejected(RejectionCode.BAD_SIGNATURE, "proof.sig"))
    [refused] = refusals(app)
    assert (refused.claim_id, refused.code, refused.detail) == (
        "claim-1",
        "bad_signature",
        "proof.sig",
    )


def test_what_the_peer_sends_is_bounded_in_the_record(app: SettlementApp) -> None:
    claim = Claim.model_validate(claim_document(claim_id="c" * 128))
    record_refusal(app, claim, ClaimOutcome.rejected(RejectionCode.INVALID, "x" * 10_000))
    [refused] = refusals(app)
    assert len(refused.detail) == MAX_REFUSAL_TEXT


def test_a_refusal_the_sender_may_cure_later_is_not_recorded(app: SettlementApp) -> None:
    claim = Claim.model_validate(claim_document())
    assert RejectionCode.RETRY_LATER not in RECORDED_REFUSALS
    record_refusal(app, claim, ClaimOutcome.rejected(RejectionCode.RETRY_LATER, "early"))
    record_refusal(app, claim, ClaimOutcome.rejected(RejectionCode.STALE_PROOF, "old nonce"))
    assert refusals(app) == []


def test_without_an_account_nothing_is_recorded(app: SettlementApp) -> None:
    claim = Claim.model_validate(claim_document(sender_node="stranger"))
    record_refusal(app, claim, ClaimOutcome.rejected(RejectionCode.BAD_SIGNATURE, "proof.sig"))
    assert not app.exists(PeerAccount.create_id("stranger", "USDC"))
