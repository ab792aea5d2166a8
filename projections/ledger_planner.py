"""Which ledger accounts and transfers each money-moving event stands for.

The planner of the ledger postings projection (`projections.ledger_postings`): it reads the
domain's events, so it lives here with its projection, and the ledger adapter stays free of
the domain. Pure: given the events and what the projection remembers (peer and asset of each peer
account, each channel's owner and our deposit so far, the pending transfer of each
settlement), it returns the accounts and transfers to post. Transfer ids come from the event
(aggregate id, version) and the leg index, so posting an event twice yields `exists`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from adapters.ledger.chart import Chart, TransferCode
from adapters.ledger.ids import packet_key, packet_keys, transfer_id, transfer_ids
from adapters.ledger.port import AMOUNT_MAX, Account, Transfer, TransferFlags
from domain.address import Address
from domain.channel import Channel
from domain.money import convert_scale
from domain.peer_account import PeerAccount


@dataclass
class ChannelPostingState:
    peer_id: str
    asset_code: str
    our_address: str
    our_deposit: int = 0  # token units, as the chain counts
    token_decimals: int = 0
    asset_scale: int = 0


@dataclass(frozen=True)
class Hold:
    account_id: UUID
    pending_id: int
    amount: int


@dataclass
class PostingState:
    peers: dict[UUID, tuple[str, str]] = field(default_factory=dict)
    channels: dict[UUID, ChannelPostingState] = field(default_factory=dict)
    holds: dict[UUID, Hold] = field(default_factory=dict)
    changed_peers: set[UUID] = field(default_factory=set)
    changed_channels: set[UUID] = field(default_factory=set)
    changed_holds: set[UUID] = field(default_factory=set)


class MissingPostingState(Exception):
    """An event refers to an aggregate or settlement the projection never saw opened."""

    retryable = False

    def __init__(self, kind: str, key: object, position: int) -> None:
        self.kind = kind
        self.key = key
        self.position = position
        super().__init__(f"{kind}={key} unknown at event position {position}")


@dataclass
class Plan:
    accounts: list[Account] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)
    positions: dict[int, int] = field(default_factory=dict)  # transfer id -> event position


class PostingPlanner:
    def __init__(self, chart: Chart, state: PostingState) -> None:
        self.chart = chart
        self.state = state
        self.plan = Plan()

    def add(self, position: int, event: Any) -> None:
        if isinstance(event, PeerAccount.Event):
            self._peer_event(position, event)
        elif isinstance(event, Channel.Event):
            self._channel_event(position, event)

    def _transfer(self, position: int, event: Any, leg: int, **fields: Any) -> None:
        t = Transfer(
            id=transfer_id(event.originator_id, event.originator_version, leg),
            user_data_64=position,
            user_data_32=leg,
            **fields,
        )
        self.plan.transfers.append(t)
        self.plan.positions[t.id] = position

    def _peer_event(self, position: int, event: Any) -> None:
        account_id = event.originator_id
        if isinstance(event, PeerAccount.Opened):
            self.state.peers[account_id] = (event.peer_id, event.asset_code)
            self.state.changed_peers.add(account_id)
            accounts = self.chart.peer_accounts(event.peer_id, event.asset_code)
            self.plan.accounts += accounts.all() + self.chart.asset_accounts(event.asset_code)
            return
        if account_id not in self.state.peers:
            raise MissingPostingState("peer_account", account_id, position)
        peer_id, asset = self.state.peers[account_id]
        peer = self.chart.peer_accounts(peer_id, asset)
        ledger = self.chart.ledger(asset)
        if isinstance(event, PeerAccount.PacketsRecorded):
            connector = self.chart.connector(asset).id
            # (debit, credit, code) per direction, looked up once rather than per packet
            legs = {
                "incoming": (peer.receivable.id, connector, int(TransferCode.PACKET_INCOMING)),
                "outgoing": (connector, peer.payable.id, int(TransferCode.PACKET_OUTGOING)),
            }
            entries = event.entries
            ids = transfer_ids(event.originator_id, event.originator_version, len(entries))
            keys = packet_keys([str(entry[0]) for entry in entries])
            transfers = self.plan.transfers
            for leg, (_, direction, amount) in enumerate(entries):
                debit, credit, code = legs[direction]
                transfers.append(
                    Transfer(
                        id=ids[leg],
                        debit_account_id=debit,
                        credit_account_id=credit,
                        amount=int(amount),
                        ledger=ledger,
                        code=code,
                        user_data_128=keys[leg],
                        user_data_64=position,
                        user_data_32=leg,
                    )
                )
            self.plan.positions.update(dict.fromkeys(ids, position))
        elif isinstance(event, PeerAccount.SettlementReserved):
            pending_id = transfer_id(event.originator_id, event.originator_version, 0)
            self._transfer(
                position,
                event,
                0,
                debit_account_id=peer.payable.id,
                credit_account_id=peer.in_flight.id,
                amount=event.amount,
                ledger=ledger,
                code=TransferCode.SETTLEMENT_RESERVED,
                flags=TransferFlags.PENDING,
                user_data_128=event.settlement_id.int,
            )
            self.state.holds[event.settlement_id] = Hold(account_id, pending_id, event.amount)
            self.state.changed_holds.add(event.settlement_id)
        elif isinstance(event, PeerAccount.SettlementApplied | PeerAccount.SettlementReleased):
            hold = self.state.holds.get(event.settlement_id)
            if hold is None:
                raise MissingPostingState("settlement", event.settlement_id, position)
            applied = isinstance(event, PeerAccount.SettlementApplied)
            self._transfer(
                position,
                event,
                0,
                pending_id=hold.pending_id,
                amount=AMOUNT_MAX if applied else 0,
                flags=TransferFlags.POST_PENDING_TRANSFER
                if applied
                else TransferFlags.VOID_PENDING_TRANSFER,
                user_data_128=event.settlement_id.int,
            )
            if applied:
                self._transfer(
                    position,
                    event,
                    1,
                    debit_account_id=peer.in_flight.id,
                    credit_account_id=self.chart.settlement(asset).id,
                    amount=hold.amount,
                    ledger=ledger,
                    code=TransferCode.SETTLEMENT_PAID_OUT,
                    user_data_128=event.settlement_id.int,
                )
        elif isinstance(event, PeerAccount.SettlementReceived):
            self._transfer(
                position,
                event,
                0,
                debit_account_id=self.chart.settlement(asset).id,
                credit_account_id=peer.receivable.id,
                amount=event.amount,
                ledger=ledger,
                code=TransferCode.SETTLEMENT_RECEIVED,
                user_data_128=packet_key(event.claim_id),
            )

    def _channel_event(self, position: int, event: Any) -> None:
        channel_id = event.originator_id
        if isinstance(event, Channel.OpenRequested):
            self.state.channels[channel_id] = ChannelPostingState(
                event.peer_id,
                event.asset_code,
                event.our_address,
                0,
                event.token_decimals,
                event.asset_scale,
            )
            self.state.changed_channels.add(channel_id)
            self.plan.accounts += [
                self.chart.channel_escrow(channel_id, event.asset_code),
                *self.chart.asset_accounts(event.asset_code),
            ]
            return
        if not isinstance(event, Channel.DepositObserved | Channel.Settled):
            return
        channel = self.state.channels.get(channel_id)
        if channel is None:
            raise MissingPostingState("channel", channel_id, position)
        escrow = self.chart.channel_escrow(channel_id, channel.asset_code).id
        settlement = self.chart.settlement(channel.asset_code).id
        ledger = self.chart.ledger(channel.asset_code)
        if isinstance(event, Channel.DepositObserved):
            if Address(event.participant, "participant") != Address(channel.our_address):
                return  # the partner's deposit is the partner's money, not on our books
            added = event.total_deposit - channel.our_deposit
            if added <= 0:
                return  # totals are monotonic; a repeated observation adds nothing
            amount = convert_scale(added, channel.token_decimals, channel.asset_scale)
            debit, credit, code = escrow, settlement, TransferCode.CHANNEL_DEPOSIT
            channel.our_deposit = event.total_deposit
        else:
            if channel.our_deposit == 0:
                return
            debit, credit = settlement, escrow
            amount = convert_scale(channel.our_deposit, channel.token_decimals, channel.asset_scale)
            code = TransferCode.CHANNEL_SETTLED
            channel.our_deposit = 0
        self.state.changed_channels.add(channel_id)
        self._transfer(
            position,
            event,
            0,
            debit_account_id=debit,
            credit_account_id=credit,
            amount=amount,
            ledger=ledger,
            code=code,
            user_data_128=channel_id.int,
        )
