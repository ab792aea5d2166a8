"""Deterministic identifiers: the same facts always give the same id, so replays repeat."""

from __future__ import annotations

from uuid import UUID, uuid5

NAMESPACE = UUID("6f1c4b8e-2a43-5d1e-9b7a-53e7713e5d2a")


def derive_id(kind: str, *parts: object) -> UUID:
    """A UUIDv5 from a kind and its identifying parts."""
    return uuid5(NAMESPACE, ":".join([kind, *(str(part) for part in parts)]))
