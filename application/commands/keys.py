"""Use cases on signing keys: which key new channels use, and the record of every key use."""

from __future__ import annotations

from application.store import AggregateStore, AlreadyExists, NotFound
from domain.key_audit import KEY_RING, KeyRing, KeyUse


class KeyCommands(AggregateStore):
    def key_ring(self) -> KeyRing | None:
        try:
            return self.load(KeyRing.create_id(KEY_RING), KeyRing)
        except NotFound:
            return None

    def activate_key(self, reference: str, address: str) -> bool:
        """Makes `reference` the key new channels use (the ring starts with the first key);
        False if it already was. Channels opened before keep their own key."""
        ring_id = KeyRing.create_id(KEY_RING)
        if not self.exists(ring_id):
            ring = KeyRing(name=KEY_RING)
            ring.activate(reference, address)
            try:
                self.create(ring)
                return True
            except AlreadyExists:
                pass  # another process started the ring first: activate on its state
        return self._change(ring_id, KeyRing, lambda r: r.activate(reference, address))

    def record_key_use(self, reference: str, address: str, purpose: str, digest: str) -> bool:
        """Records one signature; False when this key already signed this digest for this
        purpose (a retry), which is the same use."""
        try:
            self.create(KeyUse.record(reference, address, purpose, digest))
        except AlreadyExists:
            return False
        return True
