"""The real server in a subprocess (``python -m desktop serve``) over the real sample transcripts.

Each server gets its own ``DEVHELION_HOME`` and ``CLAUDE_CONFIG_DIR`` in a temp folder and a free loopback port.
``start_server`` waits for /api/health and for the start-up sync, so tests see a complete archive.
The fixtures (``api_server``, ``own_server``, ``api_client``) are registered in ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.samples import TREES, build_tree

REPO = Path(__file__).resolve().parents[1]
TIMEZONE = "America/New_York"  # not UTC, with DST: day boundaries must follow the configured zone
START_TIMEOUT = 60.0


@dataclass
class ApiServer:
    base_url: str
    key: str
    home: Path
    claude_dir: Path
    port: int
    process: subprocess.Popen
    log_path: Path
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def client(self, authenticated: bool = True) -> httpx.Client:
        return self.client_for(self.key if authenticated else None)

    def client_for(self, key: str | None, timeout: float = 60) -> httpx.Client:
        """A client sending ``key`` as its bearer token (none: no key), closed with the server."""
        headers = {"Authorization": f"Bearer {key}"} if key is not None else None
        client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)
        self.clients.append(client)
        return client

    def env(self) -> dict[str, str]:
        return server_env(self.home, self.claude_dir)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_sync(self, timeout: float = START_TIMEOUT) -> dict[str, Any]:
        """Wait until no sync runs and at least one has finished; returns /api/sync/status data."""
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base_url, headers=self.auth, timeout=10) as client:
            while True:
                data = client.get("/api/sync/status").json()["data"]
                if not data["isRunning"] and data["lastSync"] is not None:
                    return data
                if time.monotonic() > deadline:
                    raise TimeoutError(f"sync still running after {timeout} s; server log:\n{self.log()}")
                time.sleep(0.05)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(home: Path, claude_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "NICEGUI_"))}
    # NiceGUI switches to its test-port mode when it sees PYTEST_CURRENT_TEST: the child must not inherit it
    env.update(DEVHELION_HOME=str(home), CLAUDE_CONFIG_DIR=str(claude_dir), PYTHONUNBUFFERED="1")
    return env


def build_sample_logs(dest: Path) -> Path:
    """Every sample tree side by side under one config dir's ``projects/``."""
    for name in TREES:
        build_tree(name, dest)
    return dest


def write_config(home: Path, **settings: Any) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.json").write_bytes(orjson.dumps({"timezone": TIMEZONE, **settings}))


def start_server(home: Path, claude_dir: Path, extra_args: tuple[str, ...] = ()) -> ApiServer:
    port = free_port()
    log_path = home.parent / f"server-{port}.log"
    home.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "desktop", "serve", "--port", str(port), *extra_args],
            cwd=REPO, env=server_env(home, claude_dir), stdout=log, stderr=subprocess.STDOUT,
        )
    server = ApiServer(f"http://127.0.0.1:{port}", "", home, claude_dir, port, process, log_path)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(f"{server.base_url}/api/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            stop_server(server)
            raise TimeoutError(f"server did not answer /api/health in {START_TIMEOUT} s:\n{server.log()}")
        time.sleep(0.05)
    server.key = (home / "api-key").read_text().strip()
    server.wait_for_sync()
    return server


def stop_server(server: ApiServer, timeout: float = 15.0) -> int:
    """SIGTERM (uvicorn's graceful shutdown), then SIGKILL if it hangs; returns the exit code."""
    for client in server.clients:
        client.close()
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout)
    return server.process.returncode


def sample_server(tmp: Path, watch: bool = False, **settings: Any) -> ApiServer:
    """A server over every sample tree; without ``watch`` it ingests once at start-up and then only on request,
    so tests that write files control when they are read (the live tests watch)."""
    claude_dir = build_sample_logs(tmp / "claude")
    write_config(tmp / "home", **settings)
    return start_server(tmp / "home", claude_dir, () if watch else ("--no-watch",))


@pytest.fixture(scope="session")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """One server over all sample trees, shared by tests that do not change settings."""
    server = sample_server(tmp_path_factory.mktemp("api"))
    yield server
    stop_server(server)


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ApiServer]:
    """A server of the test's own, for tests that change settings or data."""
    server = sample_server(tmp_path)
    yield server
    stop_server(server)


@pytest.fixture
def api_client(api_server: ApiServer) -> httpx.Client:
    """An authenticated client of the shared server."""
    return api_server.client()


def cli(server: ApiServer, *args: str) -> Any:
    """Run ``devhelion <args> --json`` on the server's archive and config; returns the parsed JSON."""
    result = subprocess.run([sys.executable, "-m", "desktop", *args, "--json"], cwd=REPO, env=server.env(),
                            capture_output=True, check=True, timeout=120)
    return orjson.loads(result.stdout)


def data(response: httpx.Response, status: int = 200) -> Any:
    """The envelope's ``data`` after checking status and ``success``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is True, body
    return body["data"]


def error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == code, body
    assert set(body["error"]) == {"message", "code", "details"} and body["error"]["message"]
    return body["error"]
