"""Domain errors: each carries the facts as attributes and names the field and value."""

from __future__ import annotations


class DomainError(Exception):
    """An illegal command: nothing was recorded."""


class InvalidField(DomainError):
    """A field that is not what the command accepts: a name, an address, a URL, a reason, a time."""

    def __init__(self, field: str, value: object, problem: str) -> None:
        self.field = field
        self.value = value
        self.problem = problem
        super().__init__(f"{field}={value!r}: {problem}")


class InvalidAmount(InvalidField):
    """An amount that is not a whole number of minor units within range."""


class LossyConversion(DomainError):
    def __init__(self, amount: int, from_scale: int, to_scale: int, leftover: int) -> None:
        self.amount = amount
        self.from_scale = from_scale
        self.to_scale = to_scale
        self.leftover = leftover
        super().__init__(
            f"amount={amount} at scale {from_scale} cannot be expressed at scale {to_scale}:"
            f" {leftover} minor units would be lost"
        )


class InvalidBatch(DomainError):
    def __init__(self, batch_id: str, problem: str) -> None:
        self.batch_id = batch_id
        self.problem = problem
        super().__init__(f"batch_id={batch_id!r}: {problem}")


class BatchTooLarge(InvalidBatch):
    """A batch past a size limit: `measure` is what was counted (entries, bytes)."""

    def __init__(self, batch_id: str, measure: str, size: int, limit: int) -> None:
        self.measure = measure
        self.size = size
        self.limit = limit
        super().__init__(batch_id, f"{size} {measure} exceed the limit of {limit} {measure}")


class BatchConflict(DomainError):
    """The batch id was recorded before with different entries."""

    def __init__(self, batch_id: str) -> None:
        self.batch_id = batch_id
        super().__init__(f"batch_id={batch_id!r} was already recorded with different entries")


class CreditLimitExceeded(DomainError):
    def __init__(self, peer_id: str, asset_code: str, credit_limit: int, receivable: int) -> None:
        self.peer_id = peer_id
        self.asset_code = asset_code
        self.credit_limit = credit_limit
        self.receivable = receivable
        super().__init__(
            f"peer {peer_id!r} ({asset_code}): batch would take receivable to {receivable},"
            f" past the credit limit of {credit_limit}"
        )


class AccountPaused(DomainError):
    def __init__(self, peer_id: str, asset_code: str, reason: str) -> None:
        self.peer_id = peer_id
        self.asset_code = asset_code
        self.reason = reason
        super().__init__(f"peer {peer_id!r} ({asset_code}) is paused: {reason}")


class InsufficientPayable(DomainError):
    def __init__(self, settlement_id: object, amount: int, payable: int) -> None:
        self.settlement_id = settlement_id
        self.amount = amount
        self.payable = payable
        super().__init__(f"settlement {settlement_id}: amount={amount} exceeds payable={payable}")


class ExceedsReceivable(DomainError):
    def __init__(self, claim_id: str, amount: int, receivable: int) -> None:
        self.claim_id = claim_id
        self.amount = amount
        self.receivable = receivable
        super().__init__(f"claim {claim_id!r}: amount={amount} exceeds receivable={receivable}")


class SettlementIdReused(DomainError):
    def __init__(self, settlement_id: object) -> None:
        self.settlement_id = settlement_id
        super().__init__(f"settlement_id={settlement_id} was already accepted by this account")


class UnknownSettlement(DomainError):
    def __init__(self, settlement_id: object, state: str) -> None:
        self.settlement_id = settlement_id
        self.state = state
        super().__init__(f"settlement_id={settlement_id} is not reserved (it is {state})")


class IllegalTransition(DomainError):
    def __init__(self, aggregate: str, aggregate_id: object, state: str, command: str) -> None:
        self.aggregate = aggregate
        self.aggregate_id = aggregate_id
        self.state = state
        self.command = command
        super().__init__(f"{aggregate} {aggregate_id}: cannot {command} while {state}")


class InvalidBalanceProof(DomainError):
    def __init__(self, field: str, value: object, problem: str) -> None:
        self.field = field
        self.value = value
        self.problem = problem
        super().__init__(f"balance proof {field}={value!r}: {problem}")


class DepositDecreased(DomainError):
    def __init__(self, participant: str, total_deposit: int, current: int) -> None:
        self.participant = participant
        self.total_deposit = total_deposit
        self.current = current
        super().__init__(
            f"participant {participant}: total_deposit={total_deposit} is below the"
            f" recorded total {current}; deposits are monotonic totals"
        )
