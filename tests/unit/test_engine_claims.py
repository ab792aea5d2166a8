"""Claims as RFC 0038 messages: what the sending engine makes of the peer engine's answers, and
what the receiving engine answers, with the claim handler and the connectors stood in for."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from application.claim_handling import ClaimOutcome
from application.claim_messages import Claim
from application.engine_claims import ClaimMessageRefused, ClaimMessages, MessageClaimDelivery
from application.engine_messages import UnknownMessage
from application.processes.ports import failure_facts
from tests.unit.claims.test_claim_messages import claim_document


class Handler:
    def __init__(self, outcome: ClaimOutcome) -> None:
        self.outcome = outcome
        self.claims: list[Claim] = []

    def handle(self, claim: Claim) -> ClaimOutcome:
        self.claims.append(claim)
        return self.outcome


class Inner:
    def claim_for(self, *args: Any, **kwargs: Any) -> Claim:
        return Claim.model_validate(claim_document())

    def deliver(self, *args: Any) -> str:
        return "direct"

    def deliver_cooperatively(self, *args: Any) -> tuple[str, str]:
        return "direct", "0xsig"


class Through:
    """The two connectors: the message reaches the peer engine's handler as account node-a."""

    def __init__(self, peer_engine: Any) -> None:
        self.peer_engine = peer_engine
        self.sent: list[tuple[str, bytes]] = []

    def send_message(self, account_id: str, message: bytes) -> bytes:
        self.sent.append((account_id, message))
        answer: bytes = self.peer_engine("node-a", message)
        return answer


def _deliver(outcome: ClaimOutcome) -> tuple[str, Handler, Through]:
    handler = Handler(outcome)
    through = Through(ClaimMessages(handler, lambda account, message: b"other"))
    delivery = MessageClaimDelivery(Inner(), through, ["node-b"])
    peer = SimpleNamespace(peer_id="node-b")
    return delivery.deliver(peer, None, None), handler, through  # type: ignore[arg-type]


def test_an_accepted_claim_comes_back_as_its_receipt() -> None:
    receipt, handler, through = _deliver(ClaimOutcome.credited("r-1"))
    assert receipt == "accepted:r-1"
    assert [c.claim_id for c in handler.claims] == ["claim-1"]
    [(account, message)] = through.sent
    assert account == "node-b" and json.loads(message)["type"] == "claim"


@pytest.mark.parametrize(
    ("error", "retryable", "patient"),
    [("retry_later", True, True), ("stale_proof", False, False), ("internal", True, False)],
)
def test_refusals_are_classified_as_the_claim_client_does(
    error: str, retryable: bool, patient: bool
) -> None:
    with pytest.raises(ClaimMessageRefused) as refused:
        _deliver(ClaimOutcome.rejected(error, "no"))
    facts = failure_facts(refused.value)
    assert (facts.retryable, facts.patient, refused.value.error) == (retryable, patient, error)


def test_a_nonsense_answer_is_retried() -> None:
    delivery = MessageClaimDelivery(Inner(), Through(lambda a, m: b"\xff"), ["node-b"])
    with pytest.raises(ClaimMessageRefused) as refused:
        delivery.deliver(SimpleNamespace(peer_id="node-b"), None, None)  # type: ignore[arg-type]
    assert refused.value.retryable and refused.value.error == "bad_response"


def test_other_peers_keep_the_direct_path() -> None:
    through = Through(lambda a, m: b"")
    delivery = MessageClaimDelivery(Inner(), through, ["node-b"])
    assert delivery.deliver(SimpleNamespace(peer_id="node-c"), None, None) == "direct"  # type: ignore[arg-type]
    assert through.sent == []


def test_the_receiving_engine_checks_the_sender_and_passes_other_messages_on() -> None:
    handler = Handler(ClaimOutcome.credited("r"))
    messages = ClaimMessages(handler, lambda account, message: b"other")
    claim = json.dumps({"type": "claim", "claim": claim_document()}).encode()
    answer = json.loads(messages("node-x", claim))  # node-a's claim through node-x's account
    assert (answer["type"], answer["retryable"], handler.claims) == ("claim_rejected", False, [])
    assert messages("node-a", b'{"type":"settlement_info"}') == b"other"
    with pytest.raises(UnknownMessage):
        messages("node-a", b'{"type":"claim","claim":{"claim_id":""}}')
