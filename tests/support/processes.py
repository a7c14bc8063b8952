"""Real server processes for tests: themis-lite and themisgate itself, on free loopback
ports, started and stopped (gracefully, or with SIGKILL) by the test."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import uvicorn
from litestar import Litestar

THEMISGATE = [sys.executable, "-m", "themisgate"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """One server process; `url` is its base URL."""

    def __init__(
        self,
        command: list[str],
        port: int,
        cwd: Path,
        health: str = "/health",
        env: dict[str, str] | None = None,
    ) -> None:
        self.command = command
        self.env = env  # None: this process's environment
        self.port = port
        self.cwd = cwd
        self.health = health
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = cwd / f"server-{port}.log"

    def start(self, timeout: float = 30) -> ServerProcess:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=self.env,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"{self.command} exited with {self.process.returncode}:\n{self.output()}"
                )
            try:
                if httpx.get(self.url + self.health, timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError(f"{self.command} did not answer within {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush; what was acknowledged must still be there."""
        self.stop(signal.SIGKILL)


def themis_lite(cwd: Path, db: Path, port: int | None = None) -> ServerProcess:
    port = port or free_port()
    command = [*THEMISGATE, "themis-lite", "--port", str(port), "--path", str(db)]
    return ServerProcess(command, port, cwd)


def themisgate(cwd: Path, settings: str, port: int | None = None) -> ServerProcess:
    port = port or free_port()
    (cwd / "plugins.toml").write_text(f"[core]\nport = {port}\naccess_log = false\n{settings}")
    return ServerProcess([*THEMISGATE, "serve"], port, cwd)


@contextlib.contextmanager
def running(server: ServerProcess) -> Iterator[ServerProcess]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.asynccontextmanager
async def served(app: Litestar) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on a free loopback port, in this event loop; its URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise AssertionError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
