"""The parent's handle on the window process: open (or bring forward), tell whether it is open, close it."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


def window_command() -> list[str]:
    if getattr(sys, "frozen", False):  # a bundle runs itself in window mode (packaging issue)
        return [sys.executable, "--window"]
    return [sys.executable, "-m", "desktop.app.window"]


class WindowProcess:
    def __init__(self, url_factory: Callable[[], str], env: dict[str, str] | None = None) -> None:
        self.url_factory = url_factory  # a fresh one-time sign-in URL per window
        self.env = env
        self._proc: subprocess.Popen[str] | None = None
        self._url_sent = False
        self._lock = threading.Lock()
        self.opened = 0

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    @property
    def is_open(self) -> bool:
        return self.pid is not None and self._url_sent

    def prestart(self) -> None:
        """Start the process before the server answers: it loads its toolkit meanwhile and waits for the URL."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._spawn()

    def open(self) -> str:
        """Show the window: ``opened`` (a new process) or ``raised`` (the open one was brought forward)."""
        with self._lock:
            proc = self._proc
            if proc is not None and proc.poll() is None:
                try:
                    self._send("show" if self._url_sent else self.url_factory())
                    if self._url_sent:
                        return "raised"
                    self._url_sent = True
                    self.opened += 1
                    return "opened"
                except (BrokenPipeError, OSError):
                    pass  # it is closing: start a new one
            self._spawn()
            self._send(self.url_factory())
            self._url_sent = True
            self.opened += 1
            return "opened"

    def _spawn(self) -> None:
        env = dict(self.env if self.env is not None else os.environ)
        env.pop("PYTEST_CURRENT_TEST", None)
        self._proc = subprocess.Popen(window_command(), stdin=subprocess.PIPE, text=True, env=env)
        self._url_sent = False
        log.info("window process %s started", self._proc.pid)

    def _send(self, line: str) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(line + "\n")
        self._proc.stdin.flush()

    def close(self, timeout: float = 5.0) -> None:
        """Close the window (end-of-file on its stdin), then make sure its process is gone."""
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
