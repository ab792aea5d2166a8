"""Every key use is recorded (purpose, key, digest signed; never the key) before it signs;
the key ring rotates the key of new channels; a node lacking an open channel's key names it."""

from __future__ import annotations

import pytest
from eth_account import Account

from adapters.evm.balance_proof import (
    BalanceProof,
    CooperativeSettlement,
    ProofDomain,
    sign,
    typed_data,
)
from adapters.evm.settings import ChainSettings
from adapters.signing import LocalKeySigner
from adapters.signing.audited import AuditedSigner, UnknownSigningPurpose, transaction_digest
from adapters.signing.node_keys import load_node_keys
from application.keys import ChannelKeyNeed, ChannelKeyUnavailable
from domain.address import Address
from domain.key_audit import KeyAddressChanged, KeyRing

KEY_A, KEY_B = "0x" + "a1" * 32, "0x" + "b2" * 32
ADDRESS_A = Account.from_key(KEY_A).address
ADDRESS_B = Account.from_key(KEY_B).address
DOMAIN = ProofDomain(31337, Account.create().address)
TRANSACTION = {
    "type": 2, "chainId": 31337, "nonce": 0, "to": Account.create().address, "value": 0,
    "gas": 50000, "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 10**9, "data": b"\x01",
}  # fmt: skip


class MemoryKeys:
    """The application's key use cases, in memory."""

    def __init__(self, fail_records: bool = False) -> None:
        self.ring: KeyRing | None = None
        self.uses: list[tuple[str, str, str, str]] = []
        self.fail_records = fail_records

    def key_ring(self) -> KeyRing | None:
        return self.ring

    def activate_key(self, reference: str, address: str) -> bool:
        self.ring = self.ring or KeyRing(name="node")
        return self.ring.activate(reference, address)

    def record_key_use(self, reference: str, address: str, purpose: str, digest: str) -> bool:
        if self.fail_records:
            raise ConnectionError("event store down")
        self.uses.append((reference, address, purpose, digest))
        return True


def test_each_signature_is_recorded_with_its_purpose_and_digest_never_the_key() -> None:
    log = MemoryKeys()
    signer = AuditedSigner(LocalKeySigner.from_private_key(KEY_A), "env:KEY_A", log)
    proof = BalanceProof(1, 2, 30)
    final = CooperativeSettlement(1, ADDRESS_A, 5, ADDRESS_B, 6)
    proof_signature = sign(proof, DOMAIN, signer)
    sign(final, DOMAIN, signer)
    raw = signer.sign_transaction(TRANSACTION)

    assert [(use[0], use[1], use[2]) for use in log.uses] == [
        ("env:KEY_A", ADDRESS_A, "balance_proof"),
        ("env:KEY_A", ADDRESS_A, "cooperative_settle"),
        ("env:KEY_A", ADDRESS_A, "transaction"),
    ]
    # The digest recorded is the one the key signed.
    proof_digest = bytes.fromhex(log.uses[0][3][2:])
    assert Account._recover_hash(proof_digest, signature=proof_signature) == ADDRESS_A
    assert log.uses[2][3] == "0x" + transaction_digest(TRANSACTION).hex()
    assert Account.recover_transaction(raw) == ADDRESS_A
    recorded = repr(log.uses)
    assert KEY_A[2:] not in recorded and KEY_A[2:].upper() not in recorded


def test_nothing_is_signed_when_the_use_cannot_be_recorded() -> None:
    class Refusing(LocalKeySigner):
        def sign_typed_data(self, typed: dict[str, object]) -> bytes:
            raise AssertionError("signed without a record")

    signer = AuditedSigner(
        Refusing(Account.from_key(KEY_A)), "env:KEY_A", MemoryKeys(fail_records=True)
    )
    with pytest.raises(ConnectionError):
        sign(BalanceProof(1, 1, 1), DOMAIN, signer)


def test_typed_data_of_an_unknown_kind_is_refused() -> None:
    log = MemoryKeys()
    message = typed_data(BalanceProof(1, 1, 1), DOMAIN) | {"primaryType": "Permit"}
    with pytest.raises(UnknownSigningPurpose, match="Permit"):
        AuditedSigner(LocalKeySigner.from_private_key(KEY_A), "env:KEY_A", log).sign_typed_data(
            message
        )
    assert log.uses == []


def test_rotation_changes_the_key_of_new_channels_and_keeps_the_old_ones() -> None:
    ring = KeyRing(name="node")
    assert ring.activate("pkcs11:first", ADDRESS_A)
    assert not ring.activate("pkcs11:first", ADDRESS_A)
    assert ring.activate("kms:second", ADDRESS_B)
    assert ring.active_address() == Address(ADDRESS_B)
    assert ring.reference_of(ADDRESS_A.lower()) == "pkcs11:first"
    with pytest.raises(KeyAddressChanged):
        ring.activate("pkcs11:first", ADDRESS_B)


def _need(channel: str, address: str) -> ChannelKeyNeed:
    return ChannelKeyNeed(channel, "peer-" + channel, Address(address), "opened")


def test_the_node_starts_with_the_active_key_and_the_keys_of_open_channels() -> None:
    store = MemoryKeys()
    env = {"KEY_A": KEY_A, "KEY_B": KEY_B}
    first = load_node_keys(store, [], ChainSettings(private_key_env="KEY_A"), env)
    assert first.for_new_channels().address == ADDRESS_A  # the ring starts with the configured key
    store.activate_key("env:KEY_B", ADDRESS_B)  # `settle keys rotate env:KEY_B`

    keys = load_node_keys(store, [_need("c1", ADDRESS_A)], ChainSettings(), env)
    assert keys.for_new_channels().address == ADDRESS_B
    assert keys.for_channel(ADDRESS_A.lower()).address == ADDRESS_A
    sign(BalanceProof(1, 1, 1), DOMAIN, keys.for_channel(ADDRESS_A))
    assert store.uses[-1][:3] == ("env:KEY_A", ADDRESS_A, "balance_proof")


def test_the_node_refuses_to_start_without_an_open_channels_key_naming_it() -> None:
    store = MemoryKeys()
    store.activate_key("env:KEY_A", ADDRESS_A)
    store.activate_key("env:KEY_B", ADDRESS_B)
    stranger = Account.create().address
    needs = [_need("c1", ADDRESS_A), _need("c2", ADDRESS_B), _need("c3", stranger)]
    with pytest.raises(ChannelKeyUnavailable) as refused:
        load_node_keys(store, needs, ChainSettings(), {"KEY_B": KEY_B})  # KEY_A is gone
    assert [need.channel_id for need in refused.value.missing] == ["c1", "c3"]
    assert "channel c1 (peer peer-c1, opened) needs key" in str(refused.value)
