"""The keys a node starts with: the key ring's active key for new channels, and every older key
that a channel still open was opened with, each audited. A channel whose key cannot be opened
stops the start, named (see `application/keys.py`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from adapters.evm.settings import ChainSettings
from adapters.signing.audited import AuditedSigner
from adapters.signing.configured import configured_reference, load_key, load_signer
from adapters.signing.key_set import KeySet
from adapters.signing.signer import Signer, SignerUnavailable
from application.keys import ChannelKeyNeed, KeyRingStore, require_channel_keys
from domain.address import Address

_log = logging.getLogger("settle.keys")


def load_node_keys(
    store: KeyRingStore,
    needs: list[ChannelKeyNeed],
    settings: ChainSettings,
    environ: Mapping[str, str] | None = None,
) -> KeySet:
    """Opens the ring's keys (starting the ring with the configured key on first use) and
    raises ChannelKeyUnavailable naming each open channel whose key cannot be opened."""
    ring = store.key_ring()
    if ring is None or ring.active is None:
        first = load_signer(settings, environ)
        store.activate_key(configured_reference(settings), first.address)
        ring = store.key_ring()
        assert ring is not None and ring.active is not None
    configured = configured_reference(settings)
    if configured != ring.active:
        _log.warning(
            "settings name key %s but the key ring's active key is %s: new channels use %s;"
            " `settle keys rotate %s` makes the configured key active",
            configured,
            ring.active,
            ring.active,
            configured,
        )
    active = AuditedSigner(
        _open(ring.active, ring.keys[ring.active], settings, environ), ring.active, store
    )
    others: list[Signer] = []
    for address in sorted({need.our_address for need in needs} - {Address(active.address)}):
        reference = ring.reference_of(address)
        if reference is None:
            continue  # never in the ring: require_channel_keys names its channels
        try:
            signer = _open(reference, address, settings, environ)
            others.append(AuditedSigner(signer, reference, store))
        except SignerUnavailable as error:
            _log.error("key %s of open channels cannot be opened: %s", reference, error)
    keys = KeySet(active, others)
    require_channel_keys(needs, keys.addresses())
    return keys


def _open(
    reference: str, address: str, settings: ChainSettings, environ: Mapping[str, str] | None
) -> Signer:
    """The key `reference` names, refused unless it is still the key the ring recorded."""
    signer = load_key(reference, settings, environ)
    if Address(signer.address) != Address(address):
        raise SignerUnavailable(f"key {reference}", f"opens {signer.address}, not {address}")
    return signer
