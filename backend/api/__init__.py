"""The JSON REST API under /api."""

from fastapi import APIRouter

from backend.api.responses import ErrorPublic
from backend.api.routes import apps, auth, endpoints, run_files, runs, secrets, tokens, toolkits

MAX_BODY_BYTES = 2 * 1024 * 1024  # an app spec is at most 1 MiB; its JSON form with escapes fits in 2

# 403: a read-only access token (POST /api/auth/login with read_only) was sent to a route that changes something.
api_router = APIRouter(prefix="/api", responses={403: {"description": "The access token is read-only",
                                                       "model": ErrorPublic}})
for _module in (auth, apps, endpoints, tokens, runs, run_files, secrets, toolkits):
    api_router.include_router(_module.router, max_body_size=MAX_BODY_BYTES)

__all__ = ["api_router"]
