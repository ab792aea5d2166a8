"""Canonical JSON and the fingerprints hashed from it: one encoding for every idempotency key.

An idempotency key must tell two requests apart exactly when their contents differ. Joining
fields with separators fails that as soon as a field may contain a separator; canonical JSON
(sorted keys, no whitespace, ASCII only) quotes every string, so distinct values never encode
alike. Floats are refused: money is integer minor units, and a float's text is not canonical.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

FINGERPRINT_PREFIX = "cjson-sha256:"
"""Marks a fingerprint made here, so that digests stored before it can still be recognised."""


class NotCanonical(TypeError):
    """A value with no canonical JSON form (a float, a non-string key, an object)."""

    def __init__(self, path: str, value: object) -> None:
        self.path = path
        self.value = value
        super().__init__(f"{path}={value!r}: {type(value).__name__} has no canonical JSON form")


def canonical_json(value: object) -> str:
    """The one JSON text of `value`: sorted keys, no whitespace, non-ASCII escaped."""
    if not _is_canonical(value):
        _check_canonical("value", value)  # raises, naming where
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def fingerprint(value: object) -> str:
    """A prefixed sha256 of `value`'s canonical JSON: equal exactly when the values are equal."""
    text = canonical_json(value)
    return FINGERPRINT_PREFIX + hashlib.sha256(text.encode("ascii")).hexdigest()


def _is_canonical(value: object) -> bool:
    # The walk of `_check_canonical` with the common types tested exactly (an ABC isinstance
    # per item took most of the time of digesting a batch) and no path built per item: paths
    # only serve to name a fault, which `_check_canonical` then finds.
    pending: list[object] = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if kind is dict:
            items: dict[object, object] = item  # type: ignore[assignment]
            if not all(type(key) is str for key in items):
                return False
            pending.extend(items.values())
        elif kind is list or kind is tuple:
            pending.extend(item)  # type: ignore[arg-type]
        elif not _is_canonical_other(item):
            return False
    return True


def _is_canonical_other(item: object) -> bool:
    """Subclasses and other mappings or sequences: the general (slower) check."""
    try:
        _check_canonical("value", item)
    except NotCanonical:
        return False
    return True


def _check_canonical(path: str, value: object) -> None:
    # Iterative, so that a deep or long value cannot exhaust the stack.
    pending: list[tuple[str, object]] = [(path, value)]
    while pending:
        where, item = pending.pop()
        if item is None or isinstance(item, (str, int)):  # bool is an int: true/false
            continue
        if isinstance(item, Mapping):
            for key, inner in item.items():
                if not isinstance(key, str):
                    raise NotCanonical(f"{where}.<key>", key)
                pending.append((f"{where}.{key}", inner))
        elif isinstance(item, Sequence) and not isinstance(item, (bytes, bytearray)):
            pending.extend((f"{where}[{i}]", inner) for i, inner in enumerate(item))
        else:
            raise NotCanonical(where, item)
