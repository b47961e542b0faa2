"""Single instance: an exclusive lock on ``$DEVHELION_HOME/app.lock``, held for the app's lifetime.

The operating system drops the lock when the process dies, however it dies, so a stale lock never blocks a
start. A second launch asks the running app (through its API and key) to show its window, then exits.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

from desktop.relay import api_key, app_port
from store.paths import data_home

LOCK_FILE = "app.lock"
LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through an HTTP proxy


class InstanceLock:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or data_home() / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> bool:
        """True when this process now owns the lock; False when another process holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _lock(fd)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the lock
            self._fd = None


def _lock(fd: int) -> None:
    if os.name == "nt":
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def show_running_instance(timeout: float = 20.0) -> str:
    """Ask the app holding the lock to show its window: ``shown``, ``headless`` (it has no window) or
    ``unreachable`` (it did not answer in ``timeout``: it may still be starting, or be stuck)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        port, key = app_port(), api_key()
        if port and key:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/api/app/show", data=b"{}", method="POST",
                                             headers={"Authorization": f"Bearer {key}",
                                                      "Content-Type": "application/json"})
            try:
                with LOCAL.open(request, timeout=5) as response:
                    json.loads(response.read() or b"{}")
                    return "shown"
            except urllib.error.HTTPError as exc:
                if exc.code == 404:
                    return "headless"
            except (urllib.error.URLError, OSError, ValueError):
                pass  # not listening yet
        time.sleep(0.2)
    return "unreachable"
