"""Helpers of the console's browser tests: log in through the form, act through the REST API, call over MCP."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import anyio
import httpx
from mcp import Client
from playwright.sync_api import Page, expect


class Account(Protocol):
    """A console account (the console tests' conftest makes them)."""

    email: str
    password: str

    @property
    def headers(self) -> dict[str, str]: ...


class Server(Protocol):
    """A running console server."""

    base_url: str


def log_in(page: Page, account: Account, next_path: str = "/") -> None:
    """Log in through the form and land on `next_path`."""
    page.goto(f"/login?next={next_path}")
    page.get_by_label("E-mail").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(re.escape(next_path.split("?")[0]) + r"(\?.*)?(#.*)?$"))


def api(server: Server, account: Account) -> httpx.Client:
    """A REST client acting as `account`."""
    return httpx.Client(base_url=server.base_url, headers=account.headers, timeout=10)


def create_app(server: Server, account: Account, spec: dict[str, Any], publish: bool = False, enable: bool = False) -> dict:
    """Create (and optionally publish and enable) an app through the REST API."""
    with api(server, account) as client:
        app = client.post("/api/apps", json={"spec": spec})
        app.raise_for_status()
        app = app.json()
        if publish:
            client.post(f"/api/apps/{app['id']}/publish").raise_for_status()
        if enable:
            app["url"] = client.post(f"/api/apps/{app['id']}/mcp/enable").json()["url"]
    return app


def in_thread(fn: Any, *args: Any) -> Any:
    """Run an async MCP client call on its own event loop, away from Playwright's."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(anyio.run, fn, *args).result(timeout=60)


async def list_tools(url: str) -> list[Any]:
    """tools/list through the official SDK client."""
    async with Client(url) as client:
        return (await client.list_tools()).tools


async def call(url: str, name: str, arguments: dict[str, Any]) -> Any:
    """tools/call through the official SDK client."""
    async with Client(url) as client:
        return await client.call_tool(name, arguments)


