"""The desktop app: tray icon on the main thread, server on a thread, dashboard window in a child process."""
