"""The receiving end's lifecycle: start the claims endpoint on a thread, report its URL, stop it.

What a request goes through is in `entrypoints.http.claims_endpoint`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from types import TracebackType

from adapters.claims.errors import ClaimServerNotStarted
from application.claim_handling import ClaimHandler
from entrypoints.http.claims_endpoint import ClaimHTTPServer, ClaimRequestHandler

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 64 * 1024
_SHUTDOWN_POLL_SECONDS = 0.05


class ClaimServer:
    """Serves the claims endpoint on a thread; `port=0` picks a free port (see `url`)."""

    def __init__(
        self,
        handler: ClaimHandler,
        tokens: Mapping[str, str],
        host: str = "127.0.0.1",
        port: int = 0,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self._handler = handler
        self._tokens = dict(tokens)
        self._host = host
        self._port = port
        self._max_body_bytes = max_body_bytes
        self._http: ClaimHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:PORT."""
        if self._http is None:
            raise ClaimServerNotStarted("report its url")
        host, port = self._http.server_address[:2]
        host_text = host.decode() if isinstance(host, bytes) else str(host)
        if ":" in host_text:
            host_text = f"[{host_text}]"
        return f"http://{host_text}:{port}"

    def start(self) -> None:
        if self._http is not None:
            return
        http = ClaimHTTPServer((self._host, self._port), ClaimRequestHandler)
        http.claim_handler = self._handler
        http.tokens = self._tokens
        http.max_body_bytes = self._max_body_bytes
        self._http = http
        self._thread = threading.Thread(
            target=http.serve_forever,
            kwargs={"poll_interval": _SHUTDOWN_POLL_SECONDS},
            name=f"claim-server-{self._port}",
            daemon=True,
        )
        self._thread.start()
        logger.info("claim server started", extra={"url": self.url, "peers": sorted(self._tokens)})

    def stop(self) -> None:
        """Stops accepting, closes the socket and waits for the serving thread; idempotent."""
        http, thread = self._http, self._thread
        if http is None:
            return
        url = self.url
        http.shutdown()
        http.server_close()
        if thread is not None:
            thread.join()
        self._http = None
        self._thread = None
        logger.info("claim server stopped", extra={"url": url})

    def __enter__(self) -> ClaimServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
