"""The ledger on a TigerBeetle cluster, through the `tigerbeetle` client (0.17).

The client retries forever while no replica answers, so every call runs in a worker thread
and is abandoned at the deadline: the client is then closed (which completes the stuck
request) and rebuilt on the next call, and the caller gets a retryable LedgerUnavailable.
A request that timed out may still have been applied; retrying it is safe because ids are
deterministic and TigerBeetle answers `exists`.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from functools import partial
from importlib.metadata import version
from typing import Any, TypeVar

import tigerbeetle as tb

from adapters.ledger.batches import split_batches
from adapters.ledger.errors import LedgerError, LedgerUnavailable
from adapters.ledger.flags import ACCOUNT_FLAGS, TRANSFER_FLAGS
from adapters.ledger.port import (
    BATCH_LIMIT,
    Account,
    AccountBalance,
    AccountFlags,
    CreateResult,
    Transfer,
    TransferFlags,
    TransferQuery,
)
from adapters.ledger.tigerbeetle_wire import (
    ACCOUNT_RESULTS,
    pack_transfers,
    submit_transfers,
)
from adapters.ledger.validation import check_accounts, check_transfers

log = logging.getLogger(__name__)
CLIENT_RELEASE = version("tigerbeetle")
"""The client's release; a cluster accepts clients from its `release_client_min` to its own."""
T = TypeVar("T")


class TigerBeetleLedger:
    backend = "tigerbeetle"

    def __init__(
        self, cluster_id: int, replica_addresses: str, *, deadline_seconds: float = 5.0
    ) -> None:
        self._cluster_id = cluster_id
        self._addresses = replica_addresses
        self._deadline = deadline_seconds
        self._client: tb.ClientSync | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tigerbeetle")
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._drop_client(None)
        self._executor.shutdown(wait=False, cancel_futures=True)

    def create_accounts(self, accounts: Sequence[Account]) -> list[CreateResult]:
        check_accounts(accounts)
        return ACCOUNT_FLAGS.create(accounts, self._create_accounts)

    def create_transfers(self, transfers: Sequence[Transfer]) -> list[CreateResult]:
        check_transfers(transfers)
        return TRANSFER_FLAGS.create(transfers, self._create_transfers)

    def _create_accounts(self, accounts: Sequence[Account]) -> list[CreateResult]:
        results: list[CreateResult] = []
        for chunk in split_batches(accounts, BATCH_LIMIT):
            native = [_native_account(a) for a in chunk]
            answers = self._call(
                "create_accounts", partial(tb.ClientSync.create_accounts, accounts=native)
            )
            results += [ACCOUNT_RESULTS[answer.status] for answer in answers]
        return results

    def _create_transfers(self, transfers: Sequence[Transfer]) -> list[CreateResult]:
        """Full requests (split only between chains), each packed in one pass: the hot path."""
        results: list[CreateResult] = []
        for chunk in split_batches(transfers, BATCH_LIMIT):
            packed = pack_transfers(chunk)
            results += self._call("create_transfers", partial(submit_transfers, packed=packed))
        return results

    def create_native_transfers(self, native: list[tb.Transfer]) -> list[tb.CreateTransferResult]:
        """Sends pre-built client transfers as they are (the benchmark's raw floor)."""
        answers: list[tb.CreateTransferResult] = self._call(
            "create_transfers", lambda c: c.create_transfers(native)
        )
        return answers

    def create_packed_transfers(self, packed: ctypes.Array[Any]) -> list[CreateResult]:
        """Sends an array packed beforehand as it is (the benchmark's server floor)."""
        return self._call("create_transfers", partial(submit_transfers, packed=packed))

    def lookup_accounts(self, ids: Sequence[int]) -> list[AccountBalance]:
        found = self._lookup("lookup_accounts", "accounts", ids)
        return [_balance(a) for a in found]

    def lookup_transfers(self, ids: Sequence[int]) -> list[Transfer]:
        found = self._lookup("lookup_transfers", "transfers", ids)
        return [_transfer(t) for t in found]

    def _lookup(self, operation: str, argument: str, ids: Sequence[int]) -> list[Any]:
        """Looks ids up in requests of at most the client's batch limit."""
        method = getattr(tb.ClientSync, operation)
        found: list[Any] = []
        for start in range(0, len(ids), BATCH_LIMIT):
            part = list(ids[start : start + BATCH_LIMIT])
            found += self._call(operation, partial(method, **{argument: part}))
        return found

    def account_transfers(self, query: TransferQuery) -> list[Transfer]:
        flags = tb.AccountFilterFlags.NONE
        if query.debits:
            flags |= tb.AccountFilterFlags.DEBITS
        if query.credits:
            flags |= tb.AccountFilterFlags.CREDITS
        if query.reversed:
            flags |= tb.AccountFilterFlags.REVERSED
        if not query.debits and not query.credits:
            return []
        account_filter = tb.AccountFilter(
            account_id=query.account_id,
            user_data_128=0,
            user_data_64=0,
            user_data_32=0,
            code=0,
            timestamp_min=query.timestamp_min,
            timestamp_max=query.timestamp_max,
            limit=min(query.limit, BATCH_LIMIT),
            flags=flags,
        )
        transfers = self._call(
            "get_account_transfers", lambda c: c.get_account_transfers(account_filter)
        )
        return [_transfer(t) for t in transfers]

    # Every client call runs against the deadline.

    def _call(self, operation: str, request: Callable[[tb.ClientSync], T]) -> T:
        with self._lock:
            client = self._connect(operation)
            future: Future[T] = self._executor.submit(request, client)
            try:
                return future.result(timeout=self._deadline)
            except FutureTimeout:
                log.warning(
                    "tigerbeetle request timed out",
                    extra={"operation": operation, "deadline_seconds": self._deadline},
                )
                self._drop_client(future)
                raise LedgerUnavailable(
                    self.backend,
                    operation,
                    f"no answer from replicas {self._addresses} within {self._deadline}s",
                ) from None
            except (tb.ClientClosedError, tb.ClientEvictedError) as error:
                self._drop_client(future)
                raise LedgerUnavailable(self.backend, operation, repr(error)) from error
            except (tb.ClientReleaseTooLowError, tb.ClientReleaseTooHighError) as error:
                self._drop_client(future)
                raise LedgerReleaseMismatch(self._addresses, operation, str(error)) from error

    def _connect(self, operation: str) -> tb.ClientSync:
        if self._client is None:
            try:
                self._client = tb.ClientSync(self._cluster_id, self._addresses)
            except Exception as error:  # the client raises a bare InitError
                raise LedgerUnavailable(self.backend, operation, repr(error)) from error
        return self._client

    def _drop_client(self, stuck: Future[Any] | None) -> None:
        """Closes the client; closing completes a stuck request with ClientClosedError."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.close()
        except AssertionError:
            # close() asserts no request is in flight; the stuck one finishes just after.
            if stuck is not None:
                with contextlib.suppress(Exception):
                    stuck.result(timeout=self._deadline)


class LedgerReleaseMismatch(LedgerError):
    """The cluster evicted the client for its release: no retry helps, an upgrade does."""

    retryable = False

    def __init__(self, addresses: str, operation: str, detail: str) -> None:
        self.addresses = addresses
        self.operation = operation
        self.client_release = CLIENT_RELEASE
        super().__init__(
            f"tigerbeetle replicas {addresses} refused client release {CLIENT_RELEASE}"
            f" during {operation}: {detail}"
        )


def _native_account(a: Account) -> tb.Account:
    return tb.Account(
        id=a.id,
        user_data_128=a.user_data_128,
        user_data_64=a.user_data_64,
        user_data_32=a.user_data_32,
        ledger=a.ledger,
        code=a.code,
        flags=tb.AccountFlags(int(a.flags)),
    )


# Read back exactly as stored, unmasked: the PostgreSQL backend returns its rows unmasked too,
# and only the port's flags can have been written through it.


def _balance(a: tb.Account) -> AccountBalance:
    return AccountBalance(
        id=a.id,
        ledger=a.ledger,
        code=a.code,
        flags=AccountFlags(int(a.flags)),
        debits_pending=a.debits_pending,
        debits_posted=a.debits_posted,
        credits_pending=a.credits_pending,
        credits_posted=a.credits_posted,
        user_data_128=a.user_data_128,
        user_data_64=a.user_data_64,
        user_data_32=a.user_data_32,
        timestamp=a.timestamp,
    )


def _transfer(t: tb.Transfer) -> Transfer:
    return Transfer(
        id=t.id,
        debit_account_id=t.debit_account_id,
        credit_account_id=t.credit_account_id,
        amount=t.amount,
        pending_id=t.pending_id,
        user_data_128=t.user_data_128,
        user_data_64=t.user_data_64,
        user_data_32=t.user_data_32,
        timeout=t.timeout,
        ledger=t.ledger,
        code=t.code,
        flags=TransferFlags(int(t.flags)),
        timestamp=t.timestamp,
    )
