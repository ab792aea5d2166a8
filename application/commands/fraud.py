"""Use cases of the fraud rules: record a finding on a peer account (and pause it, when the rule
says so), and resume an account recording who lifted the pause. Each loads the account, runs one
command and saves what it recorded, atomically; a finding recorded again changes nothing."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from application.store import AggregateStore
from domain.errors import InvalidField
from domain.peer_account import PeerAccount


class FraudCommands(AggregateStore):
    def record_fraud_finding(
        self, account_id: UUID, finding_id: str, rule: str, facts: dict[str, Any], pause: bool
    ) -> bool:
        """Records the finding once; False if it was recorded already (a follower's replay)."""
        return self._change(
            account_id, PeerAccount, lambda a: a.suspect_fraud(finding_id, rule, facts, pause)
        )

    def resume_peer_account(self, account_id: UUID, resumed_by: str) -> None:
        """Lifts a pause (an operator's or a fraud rule's), naming who lifted it."""
        if not resumed_by.strip():
            raise InvalidField("resumed_by", resumed_by, "say who resumes the account")
        self._change(account_id, PeerAccount, lambda a: a.resume(resumed_by))
