"""Devhelion desktop process: CLI entry point (tray, window and server arrive in later issues)."""

__version__ = "0.1.0"
