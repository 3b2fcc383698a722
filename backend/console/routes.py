"""Console routes (placeholder until the console module lands)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from starlette.staticfiles import StaticFiles

FRONTEND_DIR = Path(__file__).resolve().parents[2] / "frontend"

console_router = APIRouter(include_in_schema=False)


def static_mount() -> StaticFiles:
    """Static files of the console."""
    return StaticFiles(directory=FRONTEND_DIR / "static")
