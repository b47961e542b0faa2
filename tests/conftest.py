"""Fixtures shared across test modules: the real API server over the sample transcripts (tests/api_server.py),
the dashboard's sample archive (tests/dashboard_tools.py), and NiceGUI's ``user`` fixture for page tests."""

from tests.api_server import api_client, api_server, own_server  # noqa: F401 (registered as fixtures)
from tests.dashboard_tools import sample_home  # noqa: F401 (registered as a fixture)

pytest_plugins = ("nicegui.testing.user_plugin",)
