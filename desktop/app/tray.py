"""The tray icon (pystray) on the main thread: menu, icon state and tooltip.

pystray picks AppIndicator (what GNOME and KDE show), then GtkStatusIcon (XEmbed trays), then plain X11 (no menu:
avoid); ``PYSTRAY_BACKEND`` overrides. Menu callbacks run on the GUI thread and only start work elsewhere.
Updates from other threads go through pystray's setters, which the GTK backends hand to their main loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from desktop.app import autostart
from desktop.app.icons import icon_image
from desktop.app.tray_model import TrayModel

log = logging.getLogger(__name__)


class TrayActions(Protocol):
    model: TrayModel

    def open_window(self) -> None: ...
    def toggle_pause(self) -> None: ...
    def sync_now(self) -> None: ...
    def toggle_autostart(self) -> None: ...
    def quit(self) -> None: ...


class _NoNotifier:
    """Stands in for pystray's own D-Bus notifier when there is no session bus (we notify with desktop-notifier)."""

    def notify(self, *args: Any) -> None:
        pass

    def hide(self) -> None:
        pass


class Tray:
    def __init__(self, actions: TrayActions) -> None:
        import pystray

        self.actions = actions
        self.model = actions.model
        self._pystray = pystray
        self._shown_state: str | None = None
        self.icon = pystray.Icon("devhelion", icon_image(self.model.state), self.model.tooltip, menu=self._menu())
        self._shown_state = self.model.state
        self.backend = type(self.icon).__module__.rsplit(".", 1)[-1].lstrip("_")
        if not self.icon.HAS_MENU:
            log.warning("the tray backend %r has no menu; install PyGObject (and the AppIndicator typelib) for "
                        "a usable tray", self.backend)
        self._tolerate_missing_session_bus()

    # -- menu ----------------------------------------------------------------------------------------
    def _menu(self) -> Any:
        pystray, m = self._pystray, self.model
        item, Menu = pystray.MenuItem, pystray.Menu

        def act(action: Callable[[], None]) -> Callable[[Any, Any], None]:
            def run(icon: Any, menu_item: Any) -> None:
                try:
                    action()
                except Exception:  # a failing action must not take the tray down
                    log.exception("tray action failed")
            return run

        def budget_items() -> list[Any]:
            lines = list(m.budget_lines) or ["No budgets (devhelion budgets add)"]
            return [item(line, None, enabled=False) for line in lines]

        return Menu(
            item("Open Devhelion", act(self.actions.open_window), default=True),
            item(lambda _: m.today, None, enabled=False),
            item(lambda _: m.block, None, enabled=False),
            Menu.SEPARATOR,
            item(lambda _: "Resume watching" if m.paused else "Pause watching", act(self.actions.toggle_pause),
                 enabled=lambda _: m.watching),
            item("Sync now", act(self.actions.sync_now)),
            item("Budgets", Menu(budget_items)),
            item("Start at login", act(self.actions.toggle_autostart), checked=lambda _: autostart.is_enabled(),
                 enabled=autostart.supported()),
            Menu.SEPARATOR,
            item("Quit", act(self.actions.quit)),
        )

    def menu_texts(self) -> list[str]:
        """The menu as text (tests and /api/app/status)."""
        out = []
        for entry in self.icon.menu.items:
            if entry is self._pystray.Menu.SEPARATOR:
                continue
            out.append(entry.text)
            submenu = entry.submenu
            if submenu:
                out.extend(f"  {sub.text}" for sub in submenu.items)
        return out

    # -- updates (any thread) ------------------------------------------------------------------------
    def refresh(self) -> None:
        state = self.model.state
        if state != self._shown_state:
            self.icon.icon = icon_image(state)
            self._shown_state = state
        self.icon.title = self.model.tooltip
        self._set_tooltip(self.model.tooltip)
        self.icon.update_menu()

    @property
    def state(self) -> str | None:
        return self._shown_state

    def _set_tooltip(self, text: str) -> None:
        status_icon = getattr(self.icon, "_status_icon", None)  # GtkStatusIcon: title is not the tooltip
        if status_icon is not None:
            from gi.repository import GLib

            GLib.idle_add(status_icon.set_tooltip_text, text)

    def embedded(self) -> bool | None:
        """Whether a tray host shows the icon (GtkStatusIcon only; None where the backend cannot tell). Asked on
        the GUI thread, since GTK is not thread-safe; None too when that thread does not answer within a second."""
        status_icon = getattr(self.icon, "_status_icon", None)
        if status_icon is None:
            return None
        if threading.current_thread() is threading.main_thread():
            return bool(status_icon.is_embedded())
        from gi.repository import GLib

        answer: list[bool] = []
        done = threading.Event()

        def ask() -> bool:
            answer.append(bool(status_icon.is_embedded()))
            done.set()
            return GLib.SOURCE_REMOVE

        GLib.idle_add(ask)
        return answer[0] if done.wait(1.0) else None

    # -- loop ----------------------------------------------------------------------------------------
    def run(self, on_ready: Callable[[], None]) -> None:
        """Run the GUI loop on this (the main) thread until :meth:`stop`."""
        def setup(icon: Any) -> None:
            icon.visible = True
            self._set_tooltip(self.model.tooltip)
            on_ready()

        try:
            self.icon.run(setup)
        except Exception as exc:  # e.g. the session bus went away before pystray's clean-up: we quit anyway
            log.warning("the tray loop ended with an error: %s", exc)

    def stop(self) -> None:
        self.icon.stop()

    def _tolerate_missing_session_bus(self) -> None:
        """pystray's GTK backends build a D-Bus notifier at start-up and crash without a session bus; we do not
        use it (desktop-notifier sends ours), so carry on without it."""
        icon = self.icon
        original = getattr(icon, "_initialize", None)
        if original is None or not hasattr(icon, "_notifier"):
            return

        def initialize() -> None:
            try:
                original()
            except Exception as exc:
                log.warning("tray: no D-Bus session bus for pystray (%s); notifications use desktop-notifier", exc)
                icon._notifier = _NoNotifier()
                icon._mark_ready()

        icon._initialize = initialize
