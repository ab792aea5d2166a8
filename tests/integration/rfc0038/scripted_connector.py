"""A scripted connector on 127.0.0.1: records every call to its accounting-system API (RFC 0038)
and answers from a script (a list of (status, body) used in order, then the last one again).
Given `messages`, it carries its engine's messages to the peer instead (`POST
/accounts/:id/messages` answered by what `messages` returns), as a connector forwards them in ILP
Prepare packets to the peer's connector, which hands them to its engine."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Script:
    answers: list[tuple[int, bytes]] = field(default_factory=lambda: [(201, b"")])
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    messages: Callable[[Call], tuple[int, bytes]] | None = None

    def answer(self, call: Call) -> tuple[int, bytes]:
        with self.lock:
            self.calls.append(call)
            if self.messages is None or not call.path.endswith("/messages"):
                return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return self.messages(call)


class ScriptedConnector:
    def __init__(
        self,
        answers: list[tuple[int, bytes]] | None = None,
        messages: Callable[[Call], tuple[int, bytes]] | None = None,
    ) -> None:
        self.script = Script(answers or [(201, b"")], messages=messages)
        script = self.script

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                call = Call("POST", self.path, dict(self.headers.items()), self.rfile.read(length))
                status, body = script.answer(call)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def calls(self) -> list[Call]:
        with self.script.lock:
            return list(self.script.calls)

    def __enter__(self) -> ScriptedConnector:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
