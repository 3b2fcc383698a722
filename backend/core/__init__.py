"""Cross-cutting infrastructure: settings, database engine, security helpers, logging, events."""

from backend.core.settings import Settings, get_settings

__all__ = ["Settings", "get_settings"]
