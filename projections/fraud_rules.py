"""The fraud rules follower: runs `application.fraud` over the event stream, keeps each peer's risk
state in `fraud_state`, records every finding in `fraud_findings` and hands it to the application
(a `FraudSuspected` event on the account, and a pause when the rule's action says so).

State and findings are written in the batch's transaction, with the tracking row. The
application's command runs before that commits; if the follower dies in between, the batch is
applied again and the command finds its finding id already recorded: at most a repeat that
changes nothing. Its decisions are the leader's (a "process" in the followers registry).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from application.fraud import Action, Finding, FraudRules, FraudSettings, new_state
from application.store import NotFound
from domain.channel import Channel
from domain.peer_account import PeerAccount
from domain.settlement import Settlement
from projections.runner import PositionedEvent, Projection

log = logging.getLogger(__name__)


class FraudActions(Protocol):
    """What the follower asks of the application (`application.commands.fraud`)."""

    def record_fraud_finding(
        self, account_id: UUID, finding_id: str, rule: str, facts: dict[str, Any], pause: bool
    ) -> bool: ...


OnFinding = Callable[[str, str], None]  # (rule, action): the node counts findings


class FraudRulesProjection(Projection):
    name = "fraud_rules"

    def __init__(
        self,
        actions: FraudActions,
        settings: FraudSettings | None = None,
        on_finding: OnFinding | None = None,
    ) -> None:
        self.actions = actions
        self.settings = settings or FraudSettings()
        self.rules = FraudRules(self.settings)
        self.on_finding = on_finding

    def apply(self, cursor: psycopg.Cursor[Any], events: Sequence[PositionedEvent]) -> None:
        states = _States(cursor)
        recorded: list[tuple[str, UUID, Finding]] = []
        for positioned in events:
            event = positioned.event
            found = self._observe(states, event)
            if found is None:
                continue
            account_id, findings = found
            state = states.get(f"account:{account_id}")
            for finding in findings:
                finding_id = (
                    f"{finding.rule.value}:{event.originator_id}:{event.originator_version}"
                )
                self._insert(cursor, positioned, finding_id, account_id, finding, state)
                recorded.append((finding_id, account_id, finding))
        states.save()
        for finding_id, account_id, finding in recorded:
            self._act(finding_id, account_id, finding)

    def _observe(self, states: _States, event: Any) -> tuple[UUID, list[Finding]] | None:
        """The account the event concerns and what the rules found, or None."""
        at = event.timestamp.timestamp()
        if isinstance(event, PeerAccount.Opened):
            key = f"account:{event.originator_id}"
            states.put(key, new_state(event.peer_id, event.asset_code, event.credit_limit))
            return None
        if isinstance(event, Channel.OpenRequested):
            account = PeerAccount.create_id(event.peer_id, event.asset_code)
            partner = {"account": str(account), "partner": event.partner_address}
            states.put(f"channel:{event.originator_id}", partner)
            return None
        if isinstance(event, PeerAccount.Event):
            state = states.get(f"account:{event.originator_id}")
            if state is None:
                return None
            return event.originator_id, self._account_event(state, event, at)
        if isinstance(event, Settlement.Requested):
            state = states.get(f"account:{event.account_id}")
            if state is None:
                return None
            return event.account_id, self.rules.large_amount(state, "settlement", event.amount)
        if isinstance(event, Channel.Event):
            channel = states.get(f"channel:{event.originator_id}")
            if channel is None:
                return None
            account_id = UUID(channel["account"])
            state = states.get(f"account:{account_id}")
            if state is None:
                return None
            return account_id, self._channel_event(state, channel, event, at)
        return None

    def _account_event(self, state: dict[str, Any], event: Any, at: float) -> list[Finding]:
        if isinstance(event, PeerAccount.PacketsRecorded):
            count = len(event.entries)
            return self.rules.packets(state, at, event.incoming_total, event.outgoing_total, count)
        if isinstance(event, PeerAccount.SettlementReceived):
            return self.rules.large_amount(state, "claim", event.amount)
        if isinstance(event, PeerAccount.ClaimRefused) and event.code != "paused":
            # A paused peer's claims are refused for the pause, not for a fault of their own:
            # counting them would make a pause feed itself.
            facts = {"claim_id": event.claim_id, "code": event.code}
            return self.rules.rejected_claim(state, at, facts)
        if isinstance(event, PeerAccount.PeerRegistered):
            state["address"] = event.address
        elif isinstance(event, PeerAccount.CreditLimitChanged):
            state["credit_limit"] = event.credit_limit
        return []

    def _channel_event(
        self, state: dict[str, Any], channel: dict[str, Any], event: Any, at: float
    ) -> list[Finding]:
        channel_id = str(event.originator_id)
        if isinstance(event, Channel.Closed):
            return self.rules.channel_closed(state, at, channel_id)
        if isinstance(event, Channel.PartnerBalanceProofAccepted):
            return self.rules.partner_proof(state, channel["partner"], channel_id)
        if isinstance(event, Channel.SuspectedDoubleSpend):
            facts = {
                "channel_id": channel_id,
                "nonce": event.nonce,
                "latest_nonce": event.latest_nonce,
                "transferred_amount": event.transferred_amount,
                "latest_transferred_amount": event.latest_transferred_amount,
            }
            found = self.rules.partner_proof(state, channel["partner"], channel_id)
            return found + self.rules.stale_claim(state, at, facts)
        return []

    def _insert(
        self,
        cursor: psycopg.Cursor[Any],
        positioned: PositionedEvent,
        finding_id: str,
        account_id: UUID,
        finding: Finding,
        state: dict[str, Any] | None,
    ) -> None:
        rule = self.settings.rule(finding.rule)
        cursor.execute(
            "INSERT INTO fraud_findings (finding_id, position, account_id, peer_id, asset_code,"
            " rule, action, facts, weight, at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (finding_id) DO NOTHING",
            (
                finding_id,
                positioned.position,
                account_id,
                (state or {}).get("peer", ""),
                (state or {}).get("asset", ""),
                finding.rule.value,
                rule.action.value,
                Jsonb(finding.facts),
                rule.weight,
                positioned.event.timestamp,
            ),
        )

    def _act(self, finding_id: str, account_id: UUID, finding: Finding) -> None:
        action = self.settings.rule(finding.rule).action
        try:
            new = self.actions.record_fraud_finding(
                account_id, finding_id, finding.rule.value, finding.facts, action is Action.PAUSE
            )
        except NotFound:
            log.warning("fraud finding for an unknown account", extra={"finding": finding_id})
            return
        if new:
            log.warning(
                "fraud suspected",
                extra={"finding": finding_id, "rule": finding.rule.value, "action": action.value},
            )
            if self.on_finding is not None:
                self.on_finding(finding.rule.value, action.value)


class _States:
    """The risk states a batch touches: read once, written back once, in the batch's
    transaction."""

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor
        self._loaded: dict[str, dict[str, Any] | None] = {}
        self._dirty: set[str] = set()

    def get(self, key: str) -> dict[str, Any] | None:
        if key not in self._loaded:
            row = self._cursor.execute(
                "SELECT state FROM fraud_state WHERE key = %s", (key,)
            ).fetchone()
            self._loaded[key] = None if row is None else dict(row[0])
        state = self._loaded[key]
        if state is not None:
            self._dirty.add(key)
        return state

    def put(self, key: str, state: dict[str, Any]) -> None:
        self._loaded[key] = state
        self._dirty.add(key)

    def save(self) -> None:
        for key in sorted(self._dirty):
            self._cursor.execute(
                "INSERT INTO fraud_state (key, state) VALUES (%s, %s)"
                " ON CONFLICT (key) DO UPDATE SET state = EXCLUDED.state",
                (key, Jsonb(self._loaded[key])),
            )
