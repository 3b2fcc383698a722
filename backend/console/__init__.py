"""Server-rendered console pages (templates in frontend/templates)."""

from backend.console.routes import console_router, static_mount

__all__ = ["console_router", "static_mount"]
