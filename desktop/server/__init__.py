"""The one local server: NiceGUI's FastAPI app carrying the REST API (and later the dashboard and ``/ws``)."""
