"""The live side of the running app: file watcher, event bus, and the service that ties them to ingest."""
