"""Isolation matrix: user B, holding user A's ids, gets the same 404 as for ids that do not exist, on every
REST route and console page (enumerated from the application, so a new route is covered or fails the
test until it is classified), and A's apps, versions, endpoint, secrets and runs are unchanged afterwards.

The CLI has no API mode: it acts on the database as the local administrator, so there is no remote
surface of it to test here.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
import pytest
import yaml
from mcp import Client

from backend.core.settings import Settings
from backend.main import create_app
from security.accounts import PASSWORD, User, fixture_yaml, new_user, publish
from support.routes import console_routes
from support.stack import Stack

pytestmark = pytest.mark.timeout(300)

# Routes that take an owner's resource id in their path, by parameter name.
SCOPED_PARAMS = {"app_id", "run_id", "name", "toolkit_id", "family", "token_id"}
# Routes without such an id: what each one shows must be B's own data only (checked below), or nothing private.
# The OAuth consent page reads a signed request bound to the signed-in owner (tested with the OAuth flow).
UNSCOPED = {
    ("GET", "/api/apps"), ("POST", "/api/apps"), ("GET", "/api/runs"), ("GET", "/api/secrets"),
    ("GET", "/api/toolkits"), ("POST", "/api/toolkits"),
    ("POST", "/api/auth/signup"), ("POST", "/api/auth/login"), ("GET", "/api/auth/me"),
    ("POST", "/api/auth/logout"), ("POST", "/api/auth/logout-everywhere"), ("GET", "/api/auth/tokens"),
    ("POST", "/api/auth/tokens"), ("POST", "/account/logout-everywhere"),
    ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"),
    ("GET", "/login"), ("POST", "/login"), ("GET", "/signup"), ("POST", "/signup"), ("POST", "/logout"), ("GET", "/"),
    ("POST", "/apps"), ("POST", "/apps/import"), ("GET", "/runs"), ("GET", "/runs.json"),
    ("GET", "/account"), ("POST", "/account/secrets"), ("POST", "/account/tokens"),
    ("GET", "/oauth/consent"), ("POST", "/oauth/consent"), ("GET", "/toolkits"), ("POST", "/toolkits"),
    # the example gallery is the same for everyone; a copy lands in the signed-in user's own apps
    ("GET", "/examples"), ("POST", "/examples/{key}/copy"),
}
# Secret routes act in the caller's own namespace: B writes or deletes B's secret of that name, A's is untouched.
OWN_NAMESPACE = {("PUT", "/api/secrets/{name}"), ("POST", "/account/secrets/{name}/delete")}
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
# A's run has a file (an image output), so the console's download route is tried on a file that exists
FILE_OUTPUT = "chart"
_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def _with_a_file(spec_yaml: str) -> str:
    doc = yaml.safe_load(spec_yaml)
    doc["outputs"].append({"name": FILE_OUTPUT, "type": "image", "value": f"data:image/png;base64,{_PNG}"})
    return yaml.safe_dump(doc, sort_keys=False)


def _routes(tmp: Path) -> list[tuple[str, str, bool]]:
    """(method, path, is_console) for every REST route (from the application's OpenAPI) and console page."""
    app = create_app(Settings(data_dir=tmp, load_examples=False))
    out = [(method.upper(), path, False) for path, item in app.openapi()["paths"].items() for method in item]
    return out + [(method, path, True) for method, path in console_routes()]


@dataclass
class World:
    """User A's resources and user B's credentials."""

    a: User
    b: User
    app_id: int
    url: str
    run_id: str
    secret: str
    toolkit_id: int
    token_id: int
    account_token_id: int
    b_console: httpx.Client
    b_csrf: str


@pytest.fixture(scope="module")
def world(secure_stack: Stack, api: httpx.Client) -> Iterator[World]:
    """A owns a published, enabled app with one run and a token, a secret and an enabled toolkit; B is signed in to
    the API and the console."""
    a, b = new_user(api), new_user(api)
    app_id, url = publish(api, a, _with_a_file(fixture_yaml("three_steps.yaml")))
    assert api.put("/api/secrets/A_SECRET", json={"value": "a-secret-value"}, headers=a.headers).status_code == 200
    app_token = api.post(f"/api/apps/{app_id}/mcp/tokens", json={"name": "ci"}, headers=a.headers)
    toolkit = api.post("/api/toolkits", json={"name": "A's kit", "app_ids": [app_id]}, headers=a.headers)
    assert app_token.status_code == toolkit.status_code == 201, (app_token.text, toolkit.text)
    toolkit_id = toolkit.json()["id"]
    assert api.post(f"/api/toolkits/{toolkit_id}/enable", headers=a.headers).status_code == 200

    async def call() -> None:
        async with Client(url, mode="legacy") as client:
            assert (await client.call_tool("word_report", {"text": "one two"})).is_error is False

    anyio.run(call)
    run_id = api.get("/api/runs", params={"app_id": app_id}, headers=a.headers).json()["data"][0]["id"]
    console = httpx.Client(base_url=secure_stack.base_url, timeout=30)
    token = _CSRF.search(console.get("/login").text).group(1)  # type: ignore[union-attr]
    assert console.post("/login", data={"email": b.email, "password": PASSWORD, "csrf_token": token}).status_code == 303
    csrf = _CSRF.search(console.get("/").text).group(1)  # type: ignore[union-attr]
    account_token_id = api.get("/api/auth/tokens", headers=a.headers).json()["data"][0]["id"]
    yield World(a, b, app_id, url, run_id, "A_SECRET", toolkit_id, app_token.json()["id"], account_token_id, console, csrf)
    console.close()


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str, bool]]:
    """Every route of the application, enumerated."""
    return _routes(tmp_path_factory.mktemp("routes"))


def _fill(path: str, world: World, missing: bool) -> str:
    if path.startswith(("/api/auth/tokens/", "/account/tokens/")):  # the account's own API tokens
        return path.replace("{token_id}", str(2_000_000_000 if missing else world.account_token_id))
    return (path.replace("{app_id}", str(2_000_000_000 if missing else world.app_id))
            .replace("{run_id}", "f" * 32 if missing else world.run_id)
            .replace("{name}", "NO_SUCH_SECRET" if missing else world.secret)
            .replace("{toolkit_id}", str(2_000_000_000 if missing else world.toolkit_id))
            .replace("{token_id}", str(2_000_000_000 if missing else world.token_id))
            .replace("{output}", FILE_OUTPUT)
            .replace("{number}", "1").replace("{family}", "f" * 32))


def _send(api: httpx.Client, world: World, method: str, path: str, console: bool, missing: bool = False) -> httpx.Response:
    target = _fill(path, world, missing)
    if console:
        data = {"csrf_token": world.b_csrf} if method == "POST" else None
        headers = {"X-CSRF-Token": world.b_csrf} if method == "POST" else None  # the scripts' fetch calls
        return world.b_console.request(method, target, data=data, headers=headers, follow_redirects=False)
    body = {"yaml": fixture_yaml("three_steps.yaml")} if method in ("POST", "PATCH") else None
    if path.startswith("/api/secrets/") and method == "PUT":
        body = {"value": "b-value"}
    return api.request(method, target, json=body, headers=world.b.headers)


def test_every_route_is_classified(routes: list[tuple[str, str, bool]]) -> None:
    unclassified = [(m, p) for m, p, _ in routes
                    if not (set(re.findall(r"{(\w+)}", p)) & SCOPED_PARAMS) and (m, p) not in UNSCOPED]
    assert unclassified == [], "classify these routes in the isolation matrix"
    assert len([r for r in routes if set(re.findall(r"{(\w+)}", r[1])) & SCOPED_PARAMS]) >= 15


def test_another_user_gets_the_same_404_as_for_a_missing_id_on_every_scoped_route(
    api: httpx.Client, world: World, routes: list[tuple[str, str, bool]]
) -> None:
    problems = []
    for method, path, console in routes:
        if not set(re.findall(r"{(\w+)}", path)) & SCOPED_PARAMS or (method, path) in OWN_NAMESPACE:
            continue
        theirs = _send(api, world, method, path, console)
        missing = _send(api, world, method, path, console, missing=True)
        if theirs.status_code != 404 or (theirs.status_code, theirs.text) != (missing.status_code, missing.text):
            problems.append(f"{method} {path}: {theirs.status_code} {theirs.text[:120]!r} vs missing "
                            f"{missing.status_code} {missing.text[:120]!r}")
    assert problems == []


def test_list_routes_show_another_user_nothing_of_a(api: httpx.Client, world: World) -> None:
    b = world.b.headers
    assert all(app["id"] != world.app_id for app in api.get("/api/apps", headers=b).json()["data"])
    assert api.get("/api/runs", headers=b).json()["count"] == 0
    assert api.get("/api/runs", params={"app_id": world.app_id}, headers=b).json() == {"data": [], "count": 0}
    assert world.secret not in api.get("/api/secrets", headers=b).text
    assert f"/apps/{world.app_id}" not in world.b_console.get("/").text
    assert api.get("/api/toolkits", headers=b).json()["data"] == []
    assert world.run_id not in world.b_console.get("/runs.json").text


def test_writing_a_secret_of_the_same_name_stays_in_the_writers_namespace(api: httpx.Client, world: World) -> None:
    writer = new_user(api)
    assert api.put(f"/api/secrets/{world.secret}", json={"value": "c-value"}, headers=writer.headers).status_code == 200
    assert [s["name"] for s in api.get("/api/secrets", headers=writer.headers).json()["data"]] == [world.secret]
    names_a = [s["name"] for s in api.get("/api/secrets", headers=world.a.headers).json()["data"]]
    assert world.secret in names_a


def test_a_still_has_everything_after_the_matrix(api: httpx.Client, world: World,
                                                 routes: list[tuple[str, str, bool]]) -> None:
    test_another_user_gets_the_same_404_as_for_a_missing_id_on_every_scoped_route(api, world, routes)
    a = world.a.headers
    assert api.get(f"/api/apps/{world.app_id}", headers=a).status_code == 200
    assert len(api.get(f"/api/apps/{world.app_id}/versions", headers=a).json()) == 1
    endpoint = api.get(f"/api/apps/{world.app_id}/mcp", params={"reveal": "true"}, headers=a).json()
    assert endpoint["enabled"] is True and endpoint["url"] == world.url  # not disabled or regenerated by B
    run = api.get(f"/api/runs/{world.run_id}", headers=a).json()
    assert run["status"] == "succeeded" and run["result"][FILE_OUTPUT]["resource_uri"].endswith(f"/files/{FILE_OUTPUT}")
    download = api.get(f"/api/runs/{world.run_id}/files/{FILE_OUTPUT}", headers=a)
    assert download.status_code == 200 and download.content == base64.b64decode(_PNG)
    assert download.headers["content-type"] == "image/png" and "sandbox" in download.headers["content-security-policy"]
    assert [s["name"] for s in api.get("/api/secrets", headers=a).json()["data"]] == [world.secret]
    assert [t["name"] for t in api.get(f"/api/apps/{world.app_id}/mcp/tokens", headers=a).json()["data"]] == ["ci"]
    toolkit = api.get(f"/api/toolkits/{world.toolkit_id}", headers=a).json()
    assert toolkit["enabled"] is True and toolkit["name"] == "A's kit"
    tokens = api.get("/api/auth/tokens", headers=a).json()["data"]
    assert [(t["id"], t["status"]) for t in tokens] == [(world.account_token_id, "active")]  # B revoked none of A's
