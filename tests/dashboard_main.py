"""Main file for NiceGUI's ``user`` fixture: the API and dashboard assembly over the archive in
``$DEVHELION_HOME`` (the sample transcripts, ingested once per test session by ``tests/dashboard_tools.py``).

Runs without the dashboard's sign-in gate (the browser tests go through it) and without watching the logs.
"""

from nicegui import app, ui

from desktop.server.app import configure_app
from store.archive import open_default
from store.keys import archive_keys, ensure_local_key

archive = open_default()
# the simulated user's requests go to http://test: that host is the "bound address" the Host check accepts
configure_app(app, archive, ensure_local_key(archive_keys(archive)), bind_host="test", live=False)
app.on_shutdown(archive.close)
ui.run(reload=False, show=False, title="Devhelion", show_welcome_message=False)
