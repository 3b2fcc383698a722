"""The JSON REST API under /api."""

from fastapi import APIRouter

from backend.api.routes import apps, auth, endpoints, runs, secrets, tokens, toolkits

api_router = APIRouter(prefix="/api")
for _module in (auth, apps, endpoints, tokens, runs, secrets, toolkits):
    api_router.include_router(_module.router)

__all__ = ["api_router"]
