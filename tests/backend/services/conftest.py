"""Fixtures of the service tests: a local JSON server standing in for a remote API (support.remote_api)."""

from __future__ import annotations

from support.remote_api import Remote, remote

__all__ = ["Remote", "remote"]
