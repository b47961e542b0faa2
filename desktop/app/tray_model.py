"""What the tray shows, apart from how: texts, budget lines and the icon state, updated from worker threads."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

STATE_ORDER = ("normal", "warning", "exceeded")


@dataclass
class TrayModel:
    today: str = "Today: …"
    block: str = "5-hour block: …"
    budget_lines: list[str] = field(default_factory=list)
    budget_level: str = "ok"  # ok | warning | exceeded, over unmuted budgets
    paused: bool = False
    watching: bool = True  # False when the app runs with --no-watch
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def state(self) -> str:
        """Icon state. Paused wins: figures stop following the logs, which the user must see first."""
        if self.paused:
            return "paused"
        return {"ok": "normal", "warning": "warning", "exceeded": "exceeded"}.get(self.budget_level, "normal")

    @property
    def tooltip(self) -> str:
        parts = [self.today, self.block]
        if self.budget_level != "ok":
            parts.append(f"budget {self.budget_level}")
        if self.paused:
            parts.append("watching paused")
        return "Devhelion · " + " · ".join(parts)
