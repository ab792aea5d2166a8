import pytest

from domain.channel import Channel, ChannelState, ProofVerdict
from domain.errors import DepositDecreased, IllegalTransition, InvalidBalanceProof

OURS = "0x00000000000000000000000000000000000000aa"
THEIRS = "0x00000000000000000000000000000000000000bb"


def channel() -> Channel:
    c = Channel.request_open("alice:USD:1", "alice", "USD", 31337, "0xtn", OURS, THEIRS, 500)
    c.collect_events()
    return c


def opened(deposit: int = 1000, partner_deposit: int = 1000) -> Channel:
    c = channel()
    c.observe_opened(7, "0xa1", 0)
    c.observe_deposit(OURS, deposit, "0xa2", 0)
    c.observe_deposit(THEIRS, partner_deposit, "0xa3", 1)
    c.collect_events()
    return c


def test_lifecycle_open_close_settle() -> None:
    c = channel()
    assert c.state == ChannelState.OPEN_REQUESTED
    c.observe_opened(7, "0xa1", 0)
    assert (c.state, c.onchain_id) == (ChannelState.OPENED, 7)
    c.observe_closed(THEIRS, "0xb1", 3)
    assert c.state is ChannelState.CLOSED  # type: ignore[comparison-overlap]  # mypy narrowed it
    c.observe_settled(10, 20, "0xc1", 0)
    assert c.state is ChannelState.SETTLED
    names = [type(e).__name__ for e in c.collect_events()]
    assert names == ["Opened", "Closed", "Settled"]


def test_open_that_never_happened_fails_and_is_final() -> None:
    c = channel()
    c.fail_open("rpc unreachable")
    assert c.state == ChannelState.FAILED
    with pytest.raises(IllegalTransition):
        c.observe_opened(1, "0xa", 0)


@pytest.mark.parametrize(
    "command",
    [
        lambda c: c.observe_closed(OURS, "0x1", 0),
        lambda c: c.observe_deposit(OURS, 5, "0x1", 0),
        lambda c: c.observe_settled(1, 1, "0x1", 0),
        lambda c: c.record_our_proof(1, 1, 0, "0x", "sig"),
        lambda c: c.receive_partner_proof(1, 1, "sig"),
    ],
)
def test_illegal_transitions_before_open_record_nothing(command) -> None:  # type: ignore[no-untyped-def]
    c = channel()
    with pytest.raises((IllegalTransition, InvalidBalanceProof)):
        command(c)
    assert c.collect_events() == []


def test_deposits_are_monotonic_totals() -> None:
    c = opened(deposit=500)
    c.observe_deposit(OURS, 800, "0xd1", 0)
    assert c.our_deposit == 800
    with pytest.raises(DepositDecreased):
        c.observe_deposit(OURS, 700, "0xd2", 0)


def test_our_proofs_need_rising_nonce_and_cumulative_amount_within_deposit() -> None:
    c = opened(deposit=1000)
    nonce, transferred = c.next_proof(400)
    c.record_our_proof(nonce, transferred, 0, "0x00", "sig1")
    assert (c.our_nonce, c.our_transferred) == (1, 400)
    with pytest.raises(InvalidBalanceProof, match="nonce"):
        c.record_our_proof(1, 500, 0, "0x00", "sig2")
    with pytest.raises(InvalidBalanceProof, match="below the cumulative"):
        c.record_our_proof(2, 399, 0, "0x00", "sig2")
    with pytest.raises(InvalidBalanceProof, match="deposit"):
        c.record_our_proof(2, 1001, 0, "0x00", "sig2")
    c.observe_closed(OURS, "0xe", 0)
    with pytest.raises(IllegalTransition):
        c.record_our_proof(2, 500, 0, "0x00", "sig2")


def test_stale_partner_proof_is_recorded_as_suspected_double_spend() -> None:
    c = opened()
    assert c.receive_partner_proof(2, 300, "s2") is ProofVerdict.ACCEPTED
    assert c.receive_partner_proof(2, 300, "s2") is ProofVerdict.DUPLICATE
    assert c.receive_partner_proof(1, 200, "s1") is ProofVerdict.STALE
    assert c.receive_partner_proof(3, 250, "s3") is ProofVerdict.STALE
    assert (c.partner_nonce, c.partner_transferred) == (2, 300)
    names = [type(e).__name__ for e in c.collect_events()]
    assert names == ["PartnerBalanceProofAccepted", "SuspectedDoubleSpend", "SuspectedDoubleSpend"]
    with pytest.raises(InvalidBalanceProof, match="deposit"):
        c.receive_partner_proof(4, 5000, "s4")


def test_signed_transactions_are_recorded_once_and_confirmed_once() -> None:
    c = opened()
    c.record_transaction("deposit", "0xf1", "0xraw", OURS, 3)
    c.record_transaction("deposit", "0xf1", "0xraw", OURS, 3)
    assert [h for h, _ in c.unconfirmed_transactions()] == ["0xf1"]
    c.confirm_transaction("0xf1", 12, True)
    # Final, it leaves the state (the application's index answers for it from now on).
    with pytest.raises(InvalidBalanceProof, match="tx_hash"):
        c.confirm_transaction("0xf1", 12, True)
    assert c.unconfirmed_transactions() == [] and c.transactions == {}
    assert c.transactions_signed == 1
    assert [type(e).__name__ for e in c.collect_events()] == [
        "TransactionSigned",
        "TransactionConfirmed",
    ]


def test_the_chains_payout_is_recorded_in_our_terms_whatever_the_contracts_order() -> None:
    c = opened()
    c.observe_closed(THEIRS, "0xb1", 3)
    c.collect_events()
    c.observe_payout(THEIRS.upper().replace("0X", "0x"), 700, 1300, "0xc1", 0)
    [settled] = c.collect_events()
    assert (settled.our_amount, settled.partner_amount) == (1300, 700)  # type: ignore[attr-defined]


def test_a_closed_channel_refuses_new_proofs_and_records_the_contest() -> None:
    c = opened()
    c.observe_closed(THEIRS, "0xb1", 3)
    with pytest.raises(IllegalTransition):
        c.check_our_proof(1, 10)
    c.observe_closer_proof_updated(THEIRS, 2, 50, "0xb2", 0)
    assert [type(e).__name__ for e in c.collect_events()][-1] == "CloserProofUpdated"


def test_a_dropped_transaction_is_no_longer_live_nor_unconfirmed() -> None:
    c = opened()
    c.record_transaction("deposit:5", "0xd1", "0x01", OURS, 4)
    assert c.pending_transaction("deposit:5") is not None
    c.drop_transaction("0xd1", "nonce too low")
    with pytest.raises(InvalidBalanceProof, match="tx_hash"):
        c.drop_transaction("0xd1", "nonce too low")
    assert c.pending_transaction("deposit:5") is None and c.unconfirmed_transactions() == []
