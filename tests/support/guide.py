"""Runs a Markdown guide's shell blocks in order, as a reader in one terminal would, so a test
can hold the guide to what the code does (docs/getting-started.md).

A ```` ```bash ```` block runs when the line before its fence is a marker:

    <!-- run -->                                   run it; it must exit 0
    <!-- run: until "TEXT" -->                     run it again until its output shows TEXT
    <!-- run: background, ready when "TEXT" -->    a long-running server in "another terminal":
                                                   started, and waited for until it prints TEXT

Every other ```` ```bash ```` block is an error: what the guide tells a reader to run, the test
runs. Exported variables carry from one block to the next, as in one terminal (each block's
environment is saved with `env -0` when it ends). Background servers get the environment of the
moment they start, their own process group, and SIGKILL should the test process die
(PR_SET_PDEATHSIG); `stop_all()` stops them with SIGTERM, as Ctrl-C in their terminal would.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import psutil

from devtools.processes import die_with_parent

_MARKER = re.compile(r"^<!--\s*run\b(?P<options>.*?)-->\s*$")
_READY = re.compile(r'ready when "(?P<text>[^"]+)"')
_UNTIL = re.compile(r'until "(?P<text>[^"]+)"')
_DROPPED = {"_", "PWD", "OLDPWD", "SHLVL"}


@dataclass(frozen=True)
class Block:
    line: int  # of the opening fence, 1-based, for messages
    code: str
    background: bool = False
    ready: str | None = None
    until: str | None = None


class GuideError(AssertionError):
    pass


def shell_blocks(markdown: str) -> list[Block]:
    """The guide's ```` ```bash ```` blocks in order, each with its marker's options."""
    lines = markdown.splitlines()
    blocks = []
    index = 0
    while index < len(lines):
        if lines[index].strip() != "```bash":
            index += 1
            continue
        start = index
        end = lines.index("```", start + 1)
        marker = _MARKER.match(lines[start - 1].strip()) if start else None
        if marker is None:
            raise GuideError(f"line {start + 1}: a bash block without a <!-- run --> marker")
        options = marker["options"]
        ready, until = _READY.search(options), _UNTIL.search(options)
        blocks.append(
            Block(
                line=start + 1,
                code="\n".join(lines[start + 1 : end]),
                background="background" in options,
                ready=ready["text"] if ready else None,
                until=until["text"] if until else None,
            )
        )
        index = end + 1
    return blocks


@dataclass
class Server:
    block: Block
    process: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


class GuideSession:
    """One reader's terminal: the working directory, the exported variables, the servers."""

    def __init__(self, cwd: Path, env: dict[str, str], log_dir: Path) -> None:
        self.cwd = cwd
        self.env = dict(env)
        self.log_dir = log_dir
        self.servers: list[Server] = []
        self.outputs: list[tuple[Block, str]] = []
        self.seconds: list[tuple[Block, float]] = []  # how long each block took, for a report
        log_dir.mkdir(parents=True, exist_ok=True)

    def run_all(self, blocks: list[Block], timeout: float = 120) -> None:
        for block in blocks:
            started = time.monotonic()
            if block.background:
                self.start(block, timeout)
            else:
                self.run(block, timeout)
            self.seconds.append((block, time.monotonic() - started))

    def run(self, block: Block, timeout: float) -> str:
        """Runs a block to its end (again, until its output shows `until`); returns stdout."""
        deadline = time.monotonic() + timeout
        while True:
            out = self._run_once(block, max(deadline - time.monotonic(), 30))
            if block.until is None or block.until in out:
                self.outputs.append((block, out))
                return out
            if time.monotonic() > deadline:
                raise GuideError(
                    f"line {block.line}: no {block.until!r} in time:\n{out}{self._server_tails()}"
                )
            self._check_servers(block)
            time.sleep(0.5)

    def _run_once(self, block: Block, timeout: float) -> str:
        state = self.log_dir / "environment"
        script = f"set -euo pipefail\n{block.code}\nenv -0 > {shlex.quote(str(state))}\n"
        result = subprocess.run(
            ["bash", "-c", script],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            raise GuideError(
                f"line {block.line}: exit {result.returncode}\n{block.code}\n"
                f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr[-6000:]}"
            )
        self.env = {
            key: value
            for key, _, value in (
                item.partition("=") for item in state.read_text().split("\0") if item
            )
            if key not in _DROPPED
        }
        return result.stdout

    def start(self, block: Block, timeout: float) -> Server:
        log_path = self.log_dir / f"server-{len(self.servers)}-line-{block.line}.log"
        log = open(log_path, "wb")  # noqa: SIM115 - closed in stop_all()
        process = subprocess.Popen(
            ["bash", "-c", block.code],
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        server = Server(block, process, log_path, log)
        self.servers.append(server)
        deadline = time.monotonic() + timeout
        while block.ready is not None and block.ready not in server.output():
            if process.poll() is not None or time.monotonic() > deadline:
                raise GuideError(
                    f"line {block.line}: {block.ready!r} never printed"
                    f" (exit {process.poll()}):\n{server.output()[-6000:]}"
                )
            time.sleep(0.1)
        return server

    def _check_servers(self, block: Block) -> None:
        for server in self.servers:
            if server.process.poll() is not None:
                raise GuideError(
                    f"line {block.line}: the server of line {server.block.line} exited"
                    f" ({server.process.returncode}):\n{server.output()[-6000:]}"
                )

    def _server_tails(self) -> str:
        return "".join(
            f"\n--- server of line {server.block.line}\n{server.output()[-4000:]}"
            for server in self.servers
        )

    def stop_all(self, timeout: float = 30) -> list[int]:
        """SIGTERM to each server's process group, newest first (the nodes before their chain),
        SIGKILL to what has not stopped in time; returns their exit codes in start order."""
        codes: dict[int, int] = {}
        for position in reversed(range(len(self.servers))):
            server = self.servers[position]
            process = server.process
            if process.poll() is None:
                members = _group(process.pid)  # the leader and anything it started
                os.killpg(process.pid, signal.SIGTERM)
                _, alive = psutil.wait_procs(members, timeout=timeout)
                for member in alive:
                    member.kill()
                psutil.wait_procs(alive, timeout=10)
            process.wait(timeout=10)
            server.log.close()
            codes[position] = process.returncode
        return [codes[position] for position in range(len(self.servers))]


def _group(pgid: int) -> list[psutil.Process]:
    members = []
    for candidate in psutil.process_iter():
        try:
            if os.getpgid(candidate.pid) == pgid:
                members.append(candidate)
        except (ProcessLookupError, psutil.Error):
            continue
    return members
