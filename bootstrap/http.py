"""Serves an ASGI app with uvicorn on a background thread bound to a host and port, and stops it.

Port 0 picks a free port; the socket is bound before the thread starts, so `url` is known at once
and a test can connect as soon as `start` returns.
"""

from __future__ import annotations

import logging
import socket
import threading
from types import TracebackType
from typing import Any

import uvicorn

log = logging.getLogger(__name__)

_START_TIMEOUT_SECONDS = 30.0


class ServerNotStarted(Exception):
    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(f"HTTP server: {problem}")


class HttpServer:
    def __init__(self, asgi_app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self._asgi_app = asgi_app
        self._host = host
        self._port = port
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._socket is None:
            raise ServerNotStarted("not started, so it has no URL")
        host, port = self._socket.getsockname()[:2]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}"

    def start(self) -> HttpServer:
        if self._server is not None:
            return self
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and
        # without it a response's headers and body (two writes) wait 40 ms on a delayed ACK.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        config = uvicorn.Config(
            self._asgi_app,
            lifespan="off",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=5,
            backlog=1024,
        )
        server = uvicorn.Server(config)
        self._socket, self._server = sock, server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="http-api", daemon=True
        )
        self._thread.start()
        started = threading.Event()
        while not server.started and self._thread.is_alive():
            started.wait(0.01)
        if not server.started:
            self.stop()
            raise ServerNotStarted("the serving thread ended before it started listening")
        log.info("http server started", extra={"url": self.url})
        return self

    def stop(self) -> None:
        """Stops accepting, finishes requests in progress and joins the thread; idempotent."""
        server, thread, sock = self._server, self._thread, self._socket
        if server is None:
            return
        server.should_exit = True
        if thread is not None:
            thread.join()
        if sock is not None:
            sock.close()
        self._server = self._thread = self._socket = None
        log.info("http server stopped")

    def __enter__(self) -> HttpServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
