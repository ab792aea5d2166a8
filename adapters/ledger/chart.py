"""The chart of accounts: which ledger accounts exist, their codes and their limits.

Per asset: one ledger number, a settlement account (money moving on-chain) and a connector
account (the operator's routing position, the other side of every packet). Per peer and
asset: receivable (the peer owes us), payable (we owe the peer), in-flight (payable reserved
for settlements under way). Per channel: an escrow account for our on-chain deposits.
CHART.md documents the table and the reasons for the flags.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from uuid import UUID

from adapters.ledger.errors import UnknownAsset
from adapters.ledger.ids import account_id
from adapters.ledger.port import Account, AccountFlags


class AccountCode(IntEnum):
    PEER_RECEIVABLE = 10
    PEER_PAYABLE = 11
    PEER_IN_FLIGHT = 12
    CHANNEL_ESCROW = 20
    SETTLEMENT = 30
    CONNECTOR = 40


class TransferCode(IntEnum):
    PACKET_INCOMING = 1
    PACKET_OUTGOING = 2
    SETTLEMENT_RESERVED = 10  # pending; its post (applied) and void (released) keep this code
    SETTLEMENT_PAID_OUT = 11
    SETTLEMENT_RECEIVED = 12
    CHANNEL_DEPOSIT = 20
    CHANNEL_SETTLED = 21


ACCOUNT_FLAGS: Mapping[AccountCode, AccountFlags] = {
    # We can never reserve or pay more than we owe the peer, pending reservations included.
    AccountCode.PEER_PAYABLE: AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
    # Only what was reserved can be paid out.
    AccountCode.PEER_IN_FLIGHT: AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
    # A peer's payment cannot take what it owes us below zero.
    AccountCode.PEER_RECEIVABLE: AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS,
    # The channel cannot give back more than was deposited into it.
    AccountCode.CHANNEL_ESCROW: AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS,
    AccountCode.SETTLEMENT: AccountFlags.NONE,
    AccountCode.CONNECTOR: AccountFlags.NONE,
}


@dataclass(frozen=True)
class PeerAccounts:
    receivable: Account
    payable: Account
    in_flight: Account

    def all(self) -> list[Account]:
        return [self.receivable, self.payable, self.in_flight]


@dataclass(frozen=True)
class Chart:
    """Builds the accounts of the chart; `asset_ledgers` overrides default ledger numbers."""

    asset_ledgers: Mapping[str, int] = field(default_factory=dict)

    def ledger(self, asset_code: str) -> int:
        """The asset's ledger number: configured, or its 1-4 ASCII characters as a u32."""
        configured = self.asset_ledgers.get(asset_code)
        if configured is not None:
            return configured
        if not 1 <= len(asset_code) <= 4 or not (asset_code.isascii() and asset_code.isalnum()):
            raise UnknownAsset(asset_code)
        return int.from_bytes(asset_code.encode().ljust(4, b"\0"), "big")

    def _account(self, code: AccountCode, asset_code: str, *owner: str) -> Account:
        ledger = self.ledger(asset_code)
        return Account(
            id=account_id(code.name, ledger, asset_code, *owner),
            ledger=ledger,
            code=int(code),
            flags=ACCOUNT_FLAGS[code],
        )

    def peer_accounts(self, peer_id: str, asset_code: str) -> PeerAccounts:
        return PeerAccounts(
            receivable=self._account(AccountCode.PEER_RECEIVABLE, asset_code, peer_id),
            payable=self._account(AccountCode.PEER_PAYABLE, asset_code, peer_id),
            in_flight=self._account(AccountCode.PEER_IN_FLIGHT, asset_code, peer_id),
        )

    def channel_escrow(self, channel_id: UUID, asset_code: str) -> Account:
        return self._account(AccountCode.CHANNEL_ESCROW, asset_code, str(channel_id))

    def settlement(self, asset_code: str) -> Account:
        return self._account(AccountCode.SETTLEMENT, asset_code)

    def connector(self, asset_code: str) -> Account:
        return self._account(AccountCode.CONNECTOR, asset_code)

    def asset_accounts(self, asset_code: str) -> list[Account]:
        return [self.settlement(asset_code), self.connector(asset_code)]
