"""TigerBeetle's checks that need no balances: a post or void against its pending transfer, and
the answer to a transfer whose id already exists. Split from `adapters.ledger.rules`, which
applies them in TigerBeetle's order while it moves balances."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.ledger.port import AMOUNT_MAX, ID_MAX, CreateResult, Transfer, TransferFlags

R = CreateResult
_PENDING = int(TransferFlags.PENDING)
_POST = int(TransferFlags.POST_PENDING_TRANSFER)
_VOID = int(TransferFlags.VOID_PENDING_TRANSFER)
_POST_OR_VOID = _POST | _VOID


@dataclass(frozen=True)
class PendingState:
    status: str  # pending | posted | voided | expired
    expires_at_ns: int | None



def check_post_or_void(
    t: Transfer, p: Transfer | None, state: PendingState | None, now_ns: int
) -> CreateResult | tuple[int, bool]:
    """The refusal for a post or void of pending transfer `p`, or (amount, is_post)."""
    flags = int(t.flags)
    post, void = bool(flags & _POST), bool(flags & _VOID)
    if (post and void) or flags & _PENDING:
        return R.FLAGS_ARE_MUTUALLY_EXCLUSIVE
    if t.pending_id == 0:
        return R.PENDING_ID_MUST_NOT_BE_ZERO
    if t.pending_id == ID_MAX:
        return R.PENDING_ID_MUST_NOT_BE_INT_MAX
    if t.pending_id == t.id:
        return R.PENDING_ID_MUST_BE_DIFFERENT
    if t.timeout != 0:
        return R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER
    if p is None:
        return R.PENDING_TRANSFER_NOT_FOUND
    if not int(p.flags) & _PENDING:
        return R.PENDING_TRANSFER_NOT_PENDING
    if t.debit_account_id and t.debit_account_id != p.debit_account_id:
        return R.PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID
    if t.credit_account_id and t.credit_account_id != p.credit_account_id:
        return R.PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID
    if t.ledger and t.ledger != p.ledger:
        return R.PENDING_TRANSFER_HAS_DIFFERENT_LEDGER
    if t.code and t.code != p.code:
        return R.PENDING_TRANSFER_HAS_DIFFERENT_CODE
    if void:
        amount = p.amount if t.amount == 0 else t.amount
    else:
        amount = p.amount if t.amount == AMOUNT_MAX else t.amount
    if amount > p.amount:
        return R.EXCEEDS_PENDING_TRANSFER_AMOUNT
    if void and amount < p.amount:
        return R.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT
    assert state is not None  # every pending transfer has its state
    if state.status == "posted":
        return R.PENDING_TRANSFER_ALREADY_POSTED
    if state.status == "voided":
        return R.PENDING_TRANSFER_ALREADY_VOIDED
    if state.status == "expired" or (
        state.expires_at_ns is not None and state.expires_at_ns <= now_ns
    ):
        return R.PENDING_TRANSFER_EXPIRED
    return amount, post


def existing_result(t: Transfer, e: Transfer, pending: Transfer | None) -> CreateResult:
    """The answer to a transfer whose id exists: `exists` only when every field matches."""
    if t.flags != e.flags:
        return R.EXISTS_WITH_DIFFERENT_FLAGS
    if t.pending_id != e.pending_id:
        return R.EXISTS_WITH_DIFFERENT_PENDING_ID
    if t.timeout != e.timeout:
        return R.EXISTS_WITH_DIFFERENT_TIMEOUT
    if not int(t.flags) & _POST_OR_VOID:
        return _compare_fields(t, e)
    p = pending
    assert p is not None  # a stored post or void always has its pending transfer
    if t.debit_account_id and t.debit_account_id != e.debit_account_id:
        return R.EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID
    if t.credit_account_id and t.credit_account_id != e.credit_account_id:
        return R.EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID
    whole = 0 if int(t.flags) & _VOID else AMOUNT_MAX
    if (e.amount != p.amount) if t.amount == whole else (t.amount != e.amount):
        return R.EXISTS_WITH_DIFFERENT_AMOUNT
    for name in ("user_data_128", "user_data_64", "user_data_32"):
        expected = getattr(t, name) or getattr(p, name)
        if expected != getattr(e, name):
            return R(f"exists_with_different_{name}")
    if t.ledger and t.ledger != e.ledger:
        return R.EXISTS_WITH_DIFFERENT_LEDGER
    if t.code and t.code != e.code:
        return R.EXISTS_WITH_DIFFERENT_CODE
    return R.EXISTS


def _compare_fields(t: Transfer, e: Transfer) -> CreateResult:
    for name in (
        "debit_account_id",
        "credit_account_id",
        "amount",
        "user_data_128",
        "user_data_64",
        "user_data_32",
        "ledger",
        "code",
    ):
        if getattr(t, name) != getattr(e, name):
            return R(f"exists_with_different_{name}")
    return R.EXISTS
