"""Fixtures shared across test modules: the real API server over the sample transcripts (tests/api_server.py)."""

from tests.api_server import api_client, api_server, own_server  # noqa: F401 (registered as fixtures)
