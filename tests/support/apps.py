"""App specs and API set-up that several tests share."""

from __future__ import annotations

import uuid

import anyio
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


class ApiUser:
    """A fresh console user of a running stack that publishes apps through the REST API (faster than the CLI)."""

    def __init__(self, base_url: str) -> None:
        self.api = httpx.Client(base_url=base_url, timeout=30)
        email = f"u{uuid.uuid4().hex[:10]}@example.com"
        self.api.post("/api/auth/signup", json={"email": email, "password": "long enough pw"}).raise_for_status()
        token = self.api.post("/api/auth/login", json={"email": email, "password": "long enough pw"}).json()
        self.headers = {"Authorization": f"Bearer {token['access_token']}"}

    def publish(self, spec_yaml: str) -> tuple[int, str]:
        """Create, publish and enable an app; return (app id, MCP URL)."""
        created = self.api.post("/api/apps", json={"yaml": spec_yaml}, headers=self.headers)
        assert created.status_code in (200, 201), created.text
        app_id = created.json()["id"]
        self.api.post(f"/api/apps/{app_id}/publish", headers=self.headers).raise_for_status()
        return app_id, self.api.post(f"/api/apps/{app_id}/mcp/enable", headers=self.headers).json()["url"]

    def republish(self, app_id: int, spec_yaml: str) -> None:
        """Replace an app's draft and publish it as a new version."""
        updated = self.api.patch(f"/api/apps/{app_id}", json={"yaml": spec_yaml}, headers=self.headers)
        assert updated.status_code == 200, updated.text
        self.api.post(f"/api/apps/{app_id}/publish", headers=self.headers).raise_for_status()

    def runs(self, app_id: int) -> list[dict]:
        """The app's runs, newest first."""
        return self.api.get("/api/runs", params={"app_id": app_id}, headers=self.headers).json()["data"]

    def close(self) -> None:
        self.api.close()


async def ended_run(api: httpx.AsyncClient, app_id: str, headers: dict[str, str], timeout: float = 120) -> dict:
    """The app's latest run once it has ended (succeeded, failed or cancelled), read through the REST API."""
    run: dict = {}
    with anyio.fail_after(timeout):
        while run.get("status") not in ("succeeded", "failed", "cancelled"):
            await anyio.sleep(0.2)
            run = (await api.get("/api/runs", params={"app_id": app_id}, headers=headers)).json()["data"][0]
    return run
