"""Ledger errors: the facts as attributes, the message naming what was wrong."""

from __future__ import annotations


class LedgerError(Exception):
    """Something the ledger could not do; `retryable` says whether trying again may help."""

    retryable = False


class LedgerUnavailable(LedgerError):
    """The ledger did not answer within the deadline or refused the connection."""

    retryable = True

    def __init__(self, backend: str, operation: str, detail: str) -> None:
        self.backend = backend
        self.operation = operation
        self.detail = detail
        super().__init__(f"ledger backend={backend} unavailable during {operation}: {detail}")


class BatchTooLarge(LedgerError):
    """A linked chain longer than one request can carry."""

    def __init__(self, chain_start: int, chain_length: int, limit: int) -> None:
        self.chain_start = chain_start
        self.chain_length = chain_length
        self.limit = limit
        super().__init__(
            f"linked chain starting at index {chain_start} has {chain_length} events;"
            f" a request carries at most {limit}"
        )


class InvalidLedgerField(LedgerError):
    """A field out of the ledger's range (ids and amounts are 128-bit, codes 16-bit, ...)."""

    def __init__(self, field: str, value: object, problem: str) -> None:
        self.field = field
        self.value = value
        self.problem = problem
        super().__init__(f"{field}={value!r}: {problem}")


class UnknownAsset(LedgerError):
    """An asset without a ledger number in the chart of accounts."""

    def __init__(self, asset_code: str) -> None:
        self.asset_code = asset_code
        super().__init__(
            f"asset_code={asset_code!r} has no ledger number: codes of 1 to 4 ASCII letters"
            " or digits get one by default, others need SETTLE_LEDGER__ASSET_LEDGERS"
        )
