"""Settings of the EVM rail: which chain, which contracts, which key, how many confirmations."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator


class ChainSettings(BaseModel):
    """SETTLE_CHAIN__* variables.

    `backend = "eth-tester"` runs the in-process py-evm chain (the embedded default, contracts
    deployed at start-up); `backend = "rpc"` talks to a node at `rpc_url` whose `chain_id` must
    match and whose contracts are at `token_network_address`.
    """

    backend: Literal["eth-tester", "rpc"] = "eth-tester"
    rpc_url: str | None = Field(default=None, description="JSON-RPC URL of the node (rpc backend).")
    chain_id: int | None = Field(default=None, ge=1, description="Expected chain id (rpc backend).")
    confirmations: int = Field(default=1, ge=0, le=1000)
    token_network_address: str | None = Field(default=None, pattern=r"^0x[0-9a-fA-F]{40}$")
    token_decimals: int = Field(default=18, ge=0, le=77)
    key_source: Literal["env", "keystore", "pkcs11", "kms"] = "env"
    private_key_env: str = Field(
        default="SETTLE_CHAIN_PRIVATE_KEY",
        description="Name of the environment variable holding the hex key (key_source=env).",
    )
    keystore_path: Path | None = None
    keystore_password_env: str = Field(
        default="SETTLE_CHAIN_KEYSTORE_PASSWORD",
        description="Name of the environment variable holding the keystore password.",
    )
    pkcs11_library: Path | None = Field(
        default=None, description="Path of the HSM's PKCS#11 module (key_source=pkcs11)."
    )
    pkcs11_token_label: str | None = Field(default=None, min_length=1, max_length=32)
    pkcs11_key_label: str | None = Field(
        default=None, min_length=1, max_length=64, description="Label of the EC key pair."
    )
    pkcs11_pin_env: str = Field(
        default="SETTLE_CHAIN_PKCS11_PIN",
        description="Name of the environment variable holding the token's user PIN.",
    )
    kms_key_id: str | None = Field(default=None, min_length=1, description="KMS key id or ARN.")
    kms_region: str | None = None
    kms_endpoint_url: str | None = Field(
        default=None, description="A KMS-compatible endpoint instead of AWS's (tests)."
    )
    development_key_expected: bool = Field(
        default=False,
        description="True in the demo and tests: the well-known development keys do not warn.",
    )
    rpc_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    receipt_timeout_seconds: float = Field(default=120.0, gt=0)
    poll_interval_seconds: float = Field(default=0.5, gt=0)
    log_block_range: int = Field(default=1000, ge=1, le=100_000)
    audit_start_block: int | None = Field(
        default=None,
        ge=0,
        description="Where reconciliation starts reading TokenNetwork logs; default: the"
        " contract's deployment block, found by bisection (needs a node keeping past state).",
    )
    rpc_failback_seconds: float = Field(
        default=30.0,
        gt=0,
        le=86_400,
        description="While a rail is on a backup RPC endpoint, how often the first (preferred)"
        " endpoint is health-checked; calls return to it once it answers with the chain id.",
    )
    settle_timeout_seconds: int = Field(default=600, ge=1)

    @model_validator(mode="after")
    def _rpc_needs_url_and_contract(self) -> ChainSettings:
        if self.backend == "rpc":
            if not self.rpc_url:
                raise ValueError("SETTLE_CHAIN__RPC_URL is required when SETTLE_CHAIN__BACKEND=rpc")
            if self.chain_id is None:
                raise ValueError(
                    "SETTLE_CHAIN__CHAIN_ID is required when SETTLE_CHAIN__BACKEND=rpc"
                )
        required = {
            "keystore": ("keystore_path",),
            "pkcs11": ("pkcs11_library", "pkcs11_token_label", "pkcs11_key_label"),
            "kms": ("kms_key_id",),
        }
        for field in required.get(self.key_source, ()):
            if getattr(self, field) is None:
                raise ValueError(
                    f"SETTLE_CHAIN__{field.upper()} is required when"
                    f" SETTLE_CHAIN__KEY_SOURCE={self.key_source}"
                )
        return self
