"""Deterministic ids, the chart of accounts, request splitting and range checks."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from adapters.ledger.batches import split_batches
from adapters.ledger.chart import AccountCode, Chart
from adapters.ledger.errors import BatchTooLarge, InvalidLedgerField, UnknownAsset
from adapters.ledger.ids import account_id, packet_key, transfer_id
from adapters.ledger.port import AccountFlags, Transfer, TransferFlags
from adapters.ledger.settings import LedgerSettings
from adapters.ledger.validation import check_transfers


def test_transfer_ids_depend_on_event_and_leg_only() -> None:
    event = uuid4()
    assert transfer_id(event, 3, 0) == transfer_id(event, 3, 0)
    ids = {transfer_id(event, 3, 0), transfer_id(event, 3, 1), transfer_id(event, 4, 0)}
    ids.add(transfer_id(uuid4(), 3, 0))
    assert len(ids) == 4
    assert all(0 < i < 2**128 - 1 for i in ids)


def test_account_ids_differ_by_kind_ledger_and_owner() -> None:
    ids = {
        account_id("PEER_PAYABLE", 1, "USD", "alice"),
        account_id("PEER_RECEIVABLE", 1, "USD", "alice"),
        account_id("PEER_PAYABLE", 2, "USD", "alice"),
        account_id("PEER_PAYABLE", 1, "USD", "bob"),
        account_id("PEER_PAYABLE", 1, "USDalice"),  # parts are length-prefixed, not joined
    }
    assert len(ids) == 5


def test_packet_keys_keep_uuids_and_hash_other_ids() -> None:
    packet = uuid4()
    assert packet_key(str(packet)) == packet.int
    assert packet_key("p-1") == packet_key("p-1") != packet_key("p-2")


def test_short_asset_codes_get_a_ledger_and_long_ones_need_configuration() -> None:
    chart = Chart()
    assert chart.ledger("USD") == int.from_bytes(b"USD\0", "big")
    assert chart.ledger("USD") != chart.ledger("USDC")
    with pytest.raises(UnknownAsset, match="asset_code='MATIC'"):
        chart.ledger("MATIC")
    assert Chart(asset_ledgers={"MATIC": 77}).ledger("MATIC") == 77


def test_peer_accounts_carry_the_limits_that_protect_them() -> None:
    accounts = Chart().peer_accounts("alice", "USD")
    assert accounts.payable.flags == AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
    assert accounts.in_flight.flags == AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
    assert accounts.receivable.flags == AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
    assert accounts.payable.code == AccountCode.PEER_PAYABLE
    assert {a.ledger for a in accounts.all()} == {Chart().ledger("USD")}
    escrow = Chart().channel_escrow(UUID(int=5), "USD")
    assert escrow.flags == AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS


def linked(n: int) -> list[Transfer]:
    return [Transfer(id=i + 1, flags=TransferFlags.LINKED) for i in range(n - 1)] + [Transfer(id=n)]


def test_requests_are_split_at_the_limit_without_cutting_a_chain() -> None:
    events = [Transfer(id=1), Transfer(id=2), *linked(3), Transfer(id=9)]
    parts = [list(p) for p in split_batches(events, 4)]
    assert [len(p) for p in parts] == [2, 4]
    assert [t for part in parts for t in part] == events


def test_a_chain_longer_than_a_request_is_refused() -> None:
    with pytest.raises(BatchTooLarge) as refused:
        list(split_batches([Transfer(id=1), *linked(5)], 4))
    assert (refused.value.chain_start, refused.value.chain_length) == (1, 5)


@pytest.mark.parametrize(
    ("field", "value"),
    [("amount", 2**128), ("amount", -1), ("code", 2**16), ("user_data_32", 2**32), ("id", 1.5)],
)
def test_out_of_range_fields_name_field_and_value(field: str, value: object) -> None:
    transfer = Transfer(id=1, amount=1)
    object.__setattr__(transfer, field, value)
    with pytest.raises(InvalidLedgerField, match=rf"transfers\[0\]\.{field}={value!r}"):
        check_transfers([transfer])


def test_ledger_settings_refuse_bad_addresses_and_shared_ledger_numbers() -> None:
    assert LedgerSettings(replica_addresses="3000, 127.0.0.1:3001").replica_addresses == (
        "3000,127.0.0.1:3001"
    )
    with pytest.raises(ValueError, match="host:port"):
        LedgerSettings(replica_addresses="localhost")
    with pytest.raises(ValueError, match="share a ledger"):
        LedgerSettings(asset_ledgers={"AAAAA": 5, "BBBBB": 5})
