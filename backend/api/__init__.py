"""The JSON REST API under /api."""

from fastapi import APIRouter

from backend.api.routes import apps, auth, endpoints, runs, secrets

api_router = APIRouter(prefix="/api")
for _module in (auth, apps, endpoints, runs, secrets):
    api_router.include_router(_module.router)

__all__ = ["api_router"]
