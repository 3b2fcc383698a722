"""The console's pages as (method, path) pairs, however FastAPI nests included routers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi.routing import APIRoute

from backend.console.oauth import oauth_console_router
from backend.console.routes import console_router


def _walk(routes: Iterable[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI ≥ 0.165 keeps included routers whole
        if included is not None:
            yield from _walk(included.routes, prefix + route.include_context.prefix)
        elif isinstance(route, APIRoute):
            yield from ((method, prefix + route.path) for method in sorted(route.methods - {"HEAD"}))


def console_routes() -> list[tuple[str, str]]:
    """Every console page and form target (the OAuth consent and access pages included)."""
    return list(_walk([*console_router.routes, *oauth_console_router.routes]))
