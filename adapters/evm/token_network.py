"""The TokenNetwork contract through web3.py: prepare (sign, not send) each call, then execute.

Every `prepare_*` method checks the call against the chain (a revert comes out decoded, as a
classified EvmError) and returns a SignedTransaction for the caller to record before it is
broadcast; `execute` broadcasts recorded bytes and waits for the configured confirmations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3

from adapters.evm import balance_proof
from adapters.evm.artifacts import load_artifact
from adapters.evm.balance_proof import BalanceProof, CooperativeSettlement, ProofDomain
from adapters.evm.errors import Reverted, classify
from adapters.evm.transactions import Confirmation, SignedTransaction, TransactionSender
from application.chain_ports import OnchainChannel, OnchainChannelState, OnchainParticipant


class TokenNetworkClient:
    def __init__(
        self,
        sender: TransactionSender,
        address: str,
        confirmations: int = 1,
        receipt_timeout_seconds: float = 120.0,
        out_dir: Path | None = None,
    ) -> None:
        self.sender = sender
        self.web3 = sender.web3
        self.address: ChecksumAddress = Web3.to_checksum_address(address)
        self.abi = load_artifact("TokenNetwork", out_dir).abi
        self.contract = self.web3.eth.contract(address=self.address, abi=self.abi)
        self.confirmations = confirmations
        self.receipt_timeout_seconds = receipt_timeout_seconds
        self.domain = ProofDomain(chain_id=sender.chain_id, token_network=self.address)

    @property
    def our_address(self) -> ChecksumAddress:
        return self.sender.signer.address

    # ---- balance proofs (off-chain) ----------------------------------------------------------

    def sign_balance_proof(self, proof: BalanceProof) -> bytes:
        return balance_proof.sign(proof, self.domain, self.sender.signer)

    def verify_partner_proof(self, proof: BalanceProof, signature: bytes, partner: str) -> None:
        """Raises InvalidProofSignature unless `partner` signed `proof` for this contract."""
        balance_proof.verify(proof, self.domain, signature, partner)

    def sign_cooperative_settlement(self, settlement: CooperativeSettlement) -> bytes:
        return balance_proof.sign(settlement, self.domain, self.sender.signer)

    def verify_cooperative_settlement(
        self, settlement: CooperativeSettlement, signature: bytes, signer: str
    ) -> None:
        balance_proof.verify(settlement, self.domain, signature, signer)

    # ---- transactions -------------------------------------------------------------------------

    def prepare_open_channel(self, partner: str, settle_timeout: int) -> SignedTransaction:
        return self._prepare(
            "open_channel",
            "openChannel",
            [self.our_address, Web3.to_checksum_address(partner), settle_timeout],
        )

    def prepare_set_total_deposit(
        self, channel_id: int, total_deposit: int, participant: str | None = None
    ) -> SignedTransaction:
        owner = Web3.to_checksum_address(participant) if participant else self.our_address
        return self._prepare(
            "set_total_deposit", "setTotalDeposit", [channel_id, owner, total_deposit]
        )

    def prepare_cooperative_settle(
        self,
        settlement: CooperativeSettlement,
        participant1_signature: bytes,
        participant2_signature: bytes,
    ) -> SignedTransaction:
        return self._prepare(
            "cooperative_settle",
            "cooperativeSettle",
            [
                settlement.channel_id,
                settlement.participant1_balance,
                settlement.participant2_balance,
                participant1_signature,
                participant2_signature,
            ],
        )

    def prepare_close(
        self, channel_id: int, partner_proof: BalanceProof | None, signature: bytes = b""
    ) -> SignedTransaction:
        """Closes with the partner's latest proof, or with none (nonce 0) if it never sent one."""
        proof = partner_proof or BalanceProof(channel_id=channel_id, nonce=0, transferred_amount=0)
        return self._prepare("close", "closeChannel", [*_proof_arguments(proof), signature])

    def prepare_update(
        self, channel_id: int, closer_proof: BalanceProof, signature: bytes
    ) -> SignedTransaction:
        if closer_proof.channel_id != channel_id:
            raise ValueError(
                f"closer_proof.channel_id={closer_proof.channel_id} is not channel {channel_id}"
            )
        return self._prepare(
            "update_non_closing_balance_proof",
            "updateNonClosingBalanceProof",
            [*_proof_arguments(closer_proof), signature],
        )

    def prepare_settle(self, channel_id: int) -> SignedTransaction:
        return self._prepare("settle", "settleChannel", [channel_id])

    def execute(self, signed: SignedTransaction) -> Confirmation:
        """Broadcasts recorded bytes (idempotent) and waits for the configured confirmations.

        A transaction mined but reverted raises Reverted, with the reason decoded by replaying it.
        """
        self.sender.broadcast(signed)
        confirmation = self.sender.wait_confirmed(
            signed.tx_hash, self.confirmations, self.receipt_timeout_seconds
        )
        if not confirmation.succeeded:
            raise self.explain_failure(signed.tx_hash, confirmation.block_number)
        return confirmation

    def explain_failure(self, tx_hash: str, block_number: int) -> Reverted:
        transaction = self.web3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
        call = {"from": transaction["from"], "to": transaction["to"], "data": transaction["input"]}
        try:
            self.web3.eth.call(call, block_identifier=block_number - 1)  # type: ignore[arg-type]
        except Exception as error:
            classified = classify(error, self.abi)
            if isinstance(classified, Reverted):
                return classified
        return Reverted("Unknown", {"tx_hash": tx_hash, "block_number": block_number})

    def channel_id_from(self, confirmation: Confirmation) -> int:
        """The channel id from the ChannelOpened log of an open_channel transaction."""
        for log in confirmation.logs:
            if Web3.to_checksum_address(log["address"]) != self.address:
                continue
            try:
                event = self.contract.events.ChannelOpened().process_log(log)
            # A log of another event does not decode; try the next (bandit B112).
            except Exception:  # nosec B112
                continue
            return int(event["args"]["channelId"])
        raise LookupError(f"no ChannelOpened log in transaction {confirmation.tx_hash}")

    # ---- views ---------------------------------------------------------------------------------

    def channel(self, channel_id: int) -> OnchainChannel:
        one, two, state, closer, timeout, settle_after = self._view("getChannel", channel_id)
        return OnchainChannel(
            channel_id=channel_id,
            participant1=Web3.to_checksum_address(one),
            participant2=Web3.to_checksum_address(two),
            state=OnchainChannelState(state),
            closer=None if int(closer, 16) == 0 else Web3.to_checksum_address(closer),
            settle_timeout=timeout,
            settle_after=settle_after,
        )

    def participant(self, channel_id: int, participant: str) -> OnchainParticipant:
        record = self._view("getParticipant", channel_id, Web3.to_checksum_address(participant))
        deposit, nonce, transferred, locked, locks_root = record
        return OnchainParticipant(deposit, nonce, transferred, locked, bytes(locks_root))

    def chain_time(self) -> int:
        return int(self._call_chain(lambda: self.web3.eth.get_block("latest"))["timestamp"])

    def open_channel_with(self, partner: str) -> int | None:
        pair = self._view("pairKey", self.our_address, Web3.to_checksum_address(partner))
        channel_id = int(self._view("openChannelOfPair", pair))
        return channel_id or None

    def _view(self, function: str, *arguments: Any) -> Any:
        try:
            return self.contract.functions[function](*arguments).call()
        except Exception as error:
            raise classify(error, self.abi, self.sender.endpoint) from error

    def _call_chain(self, action: Any) -> Any:
        try:
            return action()
        except Exception as error:
            raise classify(error, self.abi, self.sender.endpoint) from error

    def _prepare(self, purpose: str, function: str, arguments: list[Any]) -> SignedTransaction:
        data = self.contract.encode_abi(function, arguments)
        return self.sender.sign(purpose, {"to": self.address, "data": data}, self.abi)


def _proof_arguments(proof: BalanceProof) -> list[Any]:
    return [
        proof.channel_id,
        proof.nonce,
        proof.transferred_amount,
        proof.locked_amount,
        proof.locks_root,
    ]
