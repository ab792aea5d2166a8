"""Claim messages: strict validation naming the field; big amounts as decimal strings."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from adapters.claims.client import ClaimClient
from adapters.claims.errors import ClaimServerNotStarted, DeliveryFailed, InvalidClaimClientSetting
from application.claim_handling import ClaimOutcome
from application.claim_messages import (
    MAX_UINT256,
    Claim,
    ClaimAccepted,
    ClaimRejected,
    RejectionCode,
    describe_validation_error,
)
from entrypoints.http.claims_server import ClaimServer


def claim_document(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "claim_id": "claim-1",
        "sender_node": "node-a",
        "sender_address": "0x" + "1f" * 20,
        "asset_code": "USDC",
        "asset_scale": 6,
        "amount": "2500",
        "channel": {"chain_id": 31337, "token_network": "0x" + "aB" * 20, "onchain_id": 7},
        "proof": {
            "nonce": 3,
            "transferred_amount": "10000",
            "locked_amount": "0",
            "locks_root": "0x" + "00" * 32,
            "signature": "0x" + "11" * 32 + "22" * 32 + "1b",
        },
    }
    for path, value in overrides.items():
        target = document
        *parents, leaf = path.split("__")
        for parent in parents:
            target = target[parent]
        if value is _DELETE:
            del target[leaf]
        else:
            target[leaf] = value
    return document


_DELETE = object()


def locations(error: ValidationError) -> list[tuple[str | int, ...]]:
    return [problem["loc"] for problem in error.errors()]


def test_amounts_round_trip_as_big_integers_beyond_json_number_precision() -> None:
    big = 2**200
    document = claim_document(amount=str(big), proof__transferred_amount=str(big + 1))
    claim = Claim.model_validate_json(json.dumps(document))

    text = claim.model_dump_json()
    again = Claim.model_validate_json(text)

    assert again == claim
    assert again.amount_int == big
    assert again.proof.transferred_amount_int == big + 1
    assert json.loads(text)["amount"] == str(big)  # a JSON string, not a lossy number


def test_largest_uint256_is_accepted_and_one_more_is_refused_naming_the_field() -> None:
    largest = Claim.model_validate(claim_document(proof__transferred_amount=str(MAX_UINT256)))
    assert largest.proof.transferred_amount_int == 2**256 - 1

    with pytest.raises(ValidationError) as caught:
        Claim.model_validate(claim_document(proof__transferred_amount=str(2**256)))
    assert locations(caught.value) == [("proof", "transferred_amount")]


def test_locked_amount_defaults_to_zero() -> None:
    claim = Claim.model_validate(claim_document(proof__locked_amount=_DELETE))
    assert claim.proof.locked_amount == "0"
    assert claim.proof.locked_amount_int == 0


@pytest.mark.parametrize(
    ("override", "value", "field"),
    [
        ("amount", "0", ("amount",)),
        ("amount", "-5", ("amount",)),
        ("amount", "007", ("amount",)),
        ("amount", "1.5", ("amount",)),
        ("amount", 2500, ("amount",)),  # a JSON number: amounts must be strings
        ("claim_id", "", ("claim_id",)),
        ("claim_id", "x" * 129, ("claim_id",)),
        ("claim_id", "claim\r\nX-Injected: 1", ("claim_id",)),
        ("sender_address", "0x1234", ("sender_address",)),
        ("asset_scale", 39, ("asset_scale",)),
        ("asset_code", "", ("asset_code",)),
        ("channel__chain_id", 0, ("channel", "chain_id")),
        ("channel__chain_id", "31337", ("channel", "chain_id")),  # strict: no coercion
        ("channel__token_network", "0x" + "zz" * 20, ("channel", "token_network")),
        ("channel__onchain_id", -1, ("channel", "onchain_id")),
        ("proof__nonce", 0, ("proof", "nonce")),
        ("proof__locks_root", "0x" + "00" * 31, ("proof", "locks_root")),
        ("proof__signature", "0x" + "cd" * 64, ("proof", "signature")),
        ("proof__locked_amount", "-1", ("proof", "locked_amount")),
        ("proof", _DELETE, ("proof",)),
        ("surprise", "field", ("surprise",)),  # extra fields are forbidden
    ],
)
def test_invalid_field_is_refused_and_named(
    override: str, value: object, field: tuple[str, ...]
) -> None:
    with pytest.raises(ValidationError) as caught:
        Claim.model_validate_json(json.dumps(claim_document(**{override: value})))

    assert locations(caught.value) == [field]
    assert describe_validation_error(caught.value).startswith(".".join(field) + ": ")


def test_description_names_every_problem() -> None:
    document = claim_document(amount="0", proof__signature="0x00")
    with pytest.raises(ValidationError) as caught:
        Claim.model_validate(document)

    description = describe_validation_error(caught.value)
    assert "amount: " in description
    assert "proof.signature: " in description


def test_answers_validate_their_status_and_allow_a_missing_claim_id() -> None:
    accepted = ClaimAccepted(claim_id="c", status="duplicate", receipt="r-1")
    assert ClaimAccepted.model_validate_json(accepted.model_dump_json()) == accepted
    with pytest.raises(ValidationError) as caught:
        ClaimAccepted.model_validate({"claim_id": "c", "status": "maybe", "receipt": "r"})
    assert locations(caught.value) == [("status",)]

    rejected = ClaimRejected(claim_id=None, error=RejectionCode.UNAUTHORIZED, detail="no")
    assert json.loads(rejected.model_dump_json())["error"] == "unauthorized"


def test_outcome_refuses_contradictions() -> None:
    assert ClaimOutcome.credited("r").accepted
    assert ClaimOutcome.already_credited("r").duplicate
    assert ClaimOutcome.rejected(RejectionCode.STALE_PROOF, "nonce 2 <= 3").error == "stale_proof"
    with pytest.raises(ValueError, match="error"):
        ClaimOutcome(accepted=False)
    with pytest.raises(ValueError, match="duplicate"):
        ClaimOutcome(accepted=False, duplicate=True, error="paused")
    with pytest.raises(ValueError, match="error"):
        ClaimOutcome(accepted=True, error="paused")


def test_delivery_failed_keeps_the_facts() -> None:
    failure = DeliveryFailed(False, 409, "stale_proof", "nonce 2 <= 3", claim_id="c-9")
    assert (failure.retryable, failure.status, failure.error, failure.detail) == (
        False,
        409,
        "stale_proof",
        "nonce 2 <= 3",
    )
    assert "c-9" in str(failure) and "stale_proof" in str(failure)


@pytest.mark.parametrize(
    ("base_url", "token", "timeout", "setting"),
    [
        ("ftp://peer:21", "tok-secret-1", 1.0, "base_url"),
        ("peer-without-scheme", "tok-secret-1", 1.0, "base_url"),
        ("http://127.0.0.1:9", "", 1.0, "token"),
        ("http://127.0.0.1:9", "tok-secret\r\nX: y", 1.0, "token"),
        ("http://127.0.0.1:9", "tok-secret-1", 0.0, "timeout_seconds"),
    ],
)
def test_client_refuses_unusable_settings_naming_them(
    base_url: str, token: str, timeout: float, setting: str
) -> None:
    with pytest.raises(InvalidClaimClientSetting) as caught:
        ClaimClient(base_url, token, timeout_seconds=timeout)

    assert caught.value.setting == setting
    if token:
        assert token not in str(caught.value)


def test_server_url_before_start_is_an_error() -> None:
    with pytest.raises(ClaimServerNotStarted):
        _ = ClaimServer(handler=_NeverCalled(), tokens={}).url


class _NeverCalled:
    def handle(self, claim: Claim) -> ClaimOutcome:
        raise AssertionError("no request was sent")
