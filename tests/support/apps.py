"""App specs and API set-up that several tests share."""

from __future__ import annotations

import uuid

import httpx
import yaml

SLOW_STEPS = 60


def slow_spec(steps: int = SLOW_STEPS) -> str:
    """YAML of an app with many CPU-bound template steps, slow enough to cancel in the middle."""
    body = [
        {"id": f"s{i}", "type": "template", "template": "{% for i in range(900000) %}{% endfor %}" + str(i)}
        for i in range(steps)
    ]
    return yaml.safe_dump(
        {
            "name": f"Slow {uuid.uuid4().hex[:6]}",
            "description": "Many slow steps.",
            "tool_name": "slow",
            "inputs": [],
            "steps": body,
            "outputs": [{"name": "last", "type": "string", "value": "{{ steps.s%d.text }}" % (steps - 1)}],
        },
        sort_keys=False,
    )


async def published_app(api: httpx.AsyncClient, spec_yaml: str) -> tuple[str, str, dict[str, str]]:
    """Sign up a fresh user, create, publish and enable an app; return (app id, MCP URL, auth headers)."""
    email = f"u{uuid.uuid4().hex[:10]}@example.com"
    await api.post("/api/auth/signup", json={"email": email, "password": "long enough pw"})
    token = (await api.post("/api/auth/login", json={"email": email, "password": "long enough pw"})).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    app_id = (await api.post("/api/apps", json={"yaml": spec_yaml}, headers=headers)).json()["id"]
    await api.post(f"/api/apps/{app_id}/publish", headers=headers)
    url = (await api.post(f"/api/apps/{app_id}/mcp/enable", headers=headers)).json()["url"]
    return app_id, url, headers
