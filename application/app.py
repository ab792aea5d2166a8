"""The settlement application: every use case on peer accounts, settlements, channels and claims
as one named method, on one event store.

One event store (one notification log) holds all three aggregate types, so every event has one
global position that projections, the ledger and Kafka follow. The use cases are grouped by
aggregate in `application/commands/`; this class puts them together.
"""

from __future__ import annotations

from application.commands.channels import ChannelCommands
from application.commands.claims import ClaimCommands
from application.commands.engine import EngineCommands
from application.commands.fraud import FraudCommands
from application.commands.keys import KeyCommands
from application.commands.peer_accounts import PeerAccountCommands
from application.commands.settlements import SettlementCommands


class SettlementApp(
    PeerAccountCommands,
    SettlementCommands,
    ChannelCommands,
    ClaimCommands,
    KeyCommands,
    FraudCommands,
    EngineCommands,
):
    # The name fixes the table names (settlementledger_events, ...): kept from the first release
    # so that existing stores load unchanged.
    name = "SettlementLedger"
