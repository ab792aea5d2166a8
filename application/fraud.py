"""Fraud rules: what counts as suspicious in a peer's recorded events, each rule configurable,
each finding an alert or a pause.

Pure decisions: the rules read facts taken from events (their time is the event's timestamp, never
a clock) and a peer's risk state, a JSON-able dict that the follower keeps in the database, and
return findings. Baselines are the peer's own: a rolling integer average of its past windows or
amounts, so a big peer is not suspicious for being big. Money and baselines stay `int`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.address import Address


class Rule(StrEnum):
    VELOCITY = "velocity"  # amount or packets per window far above the peer's baseline
    LARGE_SETTLEMENT = "large_settlement"  # a settlement far above the peer's usual
    LARGE_CLAIM = "large_claim"  # a claim credited far above the peer's usual
    STALE_CLAIMS = "stale_claims"  # repeated stale balance proofs (suspected double spends)
    REJECTED_CLAIMS = "rejected_claims"  # repeated claims refused (bad signature, reused id...)
    CHANNEL_CHURN = "channel_churn"  # channels opened and closed again and again
    UNEXPECTED_SIGNER = "unexpected_signer"  # proofs from an address the peer did not register
    CREDIT_LIMIT = "credit_limit"  # the receivable driven to the credit limit again and again


class Action(StrEnum):
    ALERT = "alert"  # a FraudSuspected event and a metric
    PAUSE = "pause"  # the same, and the account is paused naming the rule


class RuleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    action: Action = Action.ALERT
    weight: int = Field(default=20, ge=0, le=100, description="Risk score points per finding.")


class VelocityRule(RuleSettings):
    window_seconds: int = Field(default=3600, ge=1)
    baseline_windows: int = Field(default=24, ge=1, description="Windows the average spans.")
    min_windows: int = Field(default=6, ge=1, description="Windows seen before it may fire.")
    factor: int = Field(default=10, ge=2, description="Fires above factor x the baseline.")
    min_amount: int = Field(default=1, ge=1, description="Minor units; below this never fires.")
    min_packets: int = Field(default=100, ge=1)


class LargeAmountRule(RuleSettings):
    factor: int = Field(default=10, ge=2)
    min_samples: int = Field(default=5, ge=1, description="Amounts seen before it may fire.")
    baseline_samples: int = Field(default=20, ge=1, description="Amounts the average spans.")


class CountRule(RuleSettings):
    count: int = Field(default=3, ge=1, description="Fires at this many in one window.")
    window_seconds: int = Field(default=3600, ge=1)


class CreditLimitRule(CountRule):
    near_percent: int = Field(default=95, ge=1, le=100, description="'Hit': receivable >= this.")


class FraudSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    velocity: VelocityRule = VelocityRule()
    large_settlement: LargeAmountRule = LargeAmountRule()
    large_claim: LargeAmountRule = LargeAmountRule()
    stale_claims: CountRule = CountRule(action=Action.PAUSE, weight=40)
    rejected_claims: CountRule = CountRule(count=5, weight=30)
    channel_churn: CountRule = CountRule(count=4, window_seconds=86_400)
    unexpected_signer: RuleSettings = RuleSettings(action=Action.PAUSE, weight=50)
    credit_limit: CreditLimitRule = CreditLimitRule(count=5)
    risk_window_seconds: int = Field(default=86_400, ge=1, description="Findings in the score.")

    def rule(self, rule: Rule) -> RuleSettings:
        settings: RuleSettings = getattr(self, rule.value)
        return settings


@dataclass(frozen=True)
class Finding:
    rule: Rule
    facts: dict[str, Any]


def new_state(peer_id: str, asset_code: str, credit_limit: int) -> dict[str, Any]:
    return {
        "peer": peer_id,
        "asset": asset_code,
        "credit_limit": credit_limit,
        "receivable": 0,
        "address": None,
        "window": None,  # [start, amount, packets, flagged] of the current velocity window
        "windows": 0,
        "base_amount": 0,
        "base_packets": 0,
        "amounts": {},  # "settlement" | "claim" -> [samples, average]
        "times": {},  # rule -> recent event times (bounded by the rule's count)
    }


class FraudRules:
    def __init__(self, settings: FraudSettings) -> None:
        self.settings = settings

    def packets(
        self, state: dict[str, Any], at: float, incoming: int, outgoing: int, count: int
    ) -> list[Finding]:
        state["receivable"] += incoming
        found = self._velocity(state, at, incoming + outgoing, count)
        rule = self.settings.credit_limit
        limit = int(state["credit_limit"])
        if incoming and limit and state["receivable"] * 100 >= limit * rule.near_percent:
            found += self._count(
                state,
                Rule.CREDIT_LIMIT,
                rule,
                at,
                {
                    "receivable": state["receivable"],
                    "credit_limit": limit,
                },
            )
        return found

    def _velocity(self, state: dict[str, Any], at: float, amount: int, count: int) -> list[Finding]:
        rule = self.settings.velocity
        if not rule.enabled:
            return []
        window = state["window"]
        if window is None:
            window = state["window"] = [at, 0, 0, False]
        elif at >= window[0] + rule.window_seconds:
            passed = int((at - window[0]) // rule.window_seconds)
            # The closed window, then any empty ones after it, enter the baseline.
            for amount_closed, packets_closed in [(window[1], window[2])] + [(0, 0)] * min(
                passed - 1, rule.baseline_windows
            ):
                self._average_in(state, amount_closed, packets_closed, rule.baseline_windows)
            window = state["window"] = [window[0] + passed * rule.window_seconds, 0, 0, False]
        window[1] += amount
        window[2] += count
        if window[3] or state["windows"] < rule.min_windows:
            return []
        over_amount = (
            window[1] >= rule.min_amount and window[1] > rule.factor * state["base_amount"]
        )
        over_packets = (
            window[2] >= rule.min_packets and window[2] > rule.factor * state["base_packets"]
        )
        if not (over_amount or over_packets):
            return []
        window[3] = True  # once per window
        facts = {
            "window_seconds": rule.window_seconds,
            "amount": window[1],
            "packets": window[2],
            "baseline_amount": state["base_amount"],
            "baseline_packets": state["base_packets"],
            "factor": rule.factor,
        }
        return [Finding(Rule.VELOCITY, facts)]

    @staticmethod
    def _average_in(state: dict[str, Any], amount: int, packets: int, span: int) -> None:
        seen = min(int(state["windows"]), span - 1)
        state["base_amount"] = (state["base_amount"] * seen + amount) // (seen + 1)
        state["base_packets"] = (state["base_packets"] * seen + packets) // (seen + 1)
        state["windows"] += 1

    def large_amount(self, state: dict[str, Any], kind: str, amount: int) -> list[Finding]:
        """A settlement ("settlement") or a credited claim ("claim") against the usual."""
        rule_name = Rule.LARGE_SETTLEMENT if kind == "settlement" else Rule.LARGE_CLAIM
        rule = self.settings.large_settlement if kind == "settlement" else self.settings.large_claim
        if kind == "claim":
            state["receivable"] = max(0, state["receivable"] - amount)
        if not rule.enabled:
            return []
        samples, average = state["amounts"].get(kind, [0, 0])
        found = []
        if samples >= rule.min_samples and amount > rule.factor * average:
            facts = {
                "amount": amount,
                "average": average,
                "samples": samples,
                "factor": rule.factor,
            }
            found.append(Finding(rule_name, facts))
        seen = min(samples, rule.baseline_samples - 1)
        state["amounts"][kind] = [samples + 1, (average * seen + amount) // (seen + 1)]
        return found

    def stale_claim(self, state: dict[str, Any], at: float, facts: dict[str, Any]) -> list[Finding]:
        rule = self.settings.stale_claims
        return self._count(state, Rule.STALE_CLAIMS, rule, at, facts) if rule.enabled else []

    def rejected_claim(
        self, state: dict[str, Any], at: float, facts: dict[str, Any]
    ) -> list[Finding]:
        rule = self.settings.rejected_claims
        return self._count(state, Rule.REJECTED_CLAIMS, rule, at, facts) if rule.enabled else []

    def channel_closed(self, state: dict[str, Any], at: float, channel: str) -> list[Finding]:
        rule = self.settings.channel_churn
        facts = {"channel_id": channel}
        return self._count(state, Rule.CHANNEL_CHURN, rule, at, facts) if rule.enabled else []

    def partner_proof(self, state: dict[str, Any], partner: str, channel: str) -> list[Finding]:
        """A proof verified against the channel's partner: suspicious if that partner is not
        the address the peer registered."""
        registered = state["address"]
        if not self.settings.unexpected_signer.enabled or registered is None:
            return []
        if Address(partner, "partner_address") == Address(str(registered)):
            return []
        facts = {"signer": partner, "registered": registered, "channel_id": channel}
        return [Finding(Rule.UNEXPECTED_SIGNER, facts)]

    def _count(
        self,
        state: dict[str, Any],
        rule_name: Rule,
        rule: CountRule,
        at: float,
        facts: dict[str, Any],
    ) -> list[Finding]:
        if not rule.enabled:
            return []
        times = [t for t in state["times"].get(rule_name.value, []) if t > at - rule.window_seconds]
        times.append(at)
        if len(times) < rule.count:
            state["times"][rule_name.value] = times
            return []
        state["times"][rule_name.value] = []  # a new count starts after each finding
        return [
            Finding(
                rule_name, {**facts, "count": len(times), "window_seconds": rule.window_seconds}
            )
        ]
