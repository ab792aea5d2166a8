"""Messages between peered settlement engines (RFC 0038 "Exchanging messages"): what ours
answers. The RFC leaves the schema to implementations; ours is JSON, and the one request is
`{"type": "settlement_info"}`, answered with where and how this node settles (its address and
claims URL), so a peer's engine can learn them without out-of-band configuration."""

from __future__ import annotations

import json
from collections.abc import Mapping

from domain.fingerprint import canonical_json


class UnknownMessage(Exception):
    """A message the engine cannot answer; `problem` says why (400)."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(f"message: {problem}")


class SettlementInfoMessages:
    """Answers `settlement_info` with fixed facts about this node."""

    def __init__(self, info: Mapping[str, str]) -> None:
        self.info = dict(info)

    def __call__(self, account_id: str, message: bytes) -> bytes:
        try:
            request = json.loads(message)
        except (UnicodeDecodeError, ValueError):
            raise UnknownMessage("is not a JSON message") from None
        if not isinstance(request, dict) or request.get("type") != "settlement_info":
            raise UnknownMessage('only {"type": "settlement_info"} is understood')
        answer = {"type": "settlement_info", "account": account_id, **self.info}
        return canonical_json(answer).encode()
