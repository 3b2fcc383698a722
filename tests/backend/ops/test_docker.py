"""docker/: the Dockerfile and compose file, checked structurally (no Docker engine or compose CLI here).

When the `docker compose` plugin is installed, `docker compose config` validates the file as well.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from backend.core.settings import Settings

DOCKER = Path(__file__).resolve().parents[3] / "docker"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def _has_compose_cli() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _has_compose_cli(), reason="the docker compose plugin is not installed")
def test_docker_compose_config_accepts_the_file() -> None:
    result = subprocess.run(
        ["docker", "compose", "-f", str(DOCKER / "compose.yaml"), "config", "-q"],
        env={"TOOLPRESS_SECRET_KEY": "x" * 48, "PATH": "/usr/bin:/bin:/usr/local/bin"},
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr


def test_compose_has_the_production_topology(compose: dict) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "api", "worker", "proxy", "flower"}
    assert "beat" not in services  # no periodic tasks exist; add beat with the first beat_schedule
    assert services["api"]["deploy"]["replicas"] == 2
    assert services["migrate"]["command"] == ["toolpress", "db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["worker"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["proxy"]["depends_on"]["api"]["condition"] == "service_healthy"
    assert services["worker"]["command"][:2] == ["toolpress", "worker"]
    for name in ("postgres", "redis", "api", "worker", "proxy"):
        assert services[name]["healthcheck"]["test"], name
    assert "/readyz" in " ".join(services["api"]["healthcheck"]["test"])
    for name in ("migrate", "api", "worker"):
        assert services[name]["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}
    assert "./nginx.conf:/etc/nginx/conf.d/default.conf:ro" in services["proxy"]["volumes"]
    assert "ports" not in services["api"]  # replicas are reached through the proxy only
    for service, spec in services.items():
        for dep in spec.get("depends_on", {}):
            assert dep in services, (service, dep)


def test_compose_environment_names_only_real_settings(compose: dict) -> None:
    env = compose["x-toolpress-env"]
    known = {f"TOOLPRESS_{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= known, set(env) - known
    assert env["TOOLPRESS_ENV"] == "production"
    assert env["TOOLPRESS_SECRET_KEY"].startswith("${TOOLPRESS_SECRET_KEY:?")  # refused when unset
    assert env["TOOLPRESS_DATABASE_URL"].startswith("postgresql+psycopg://")
    for name in ("migrate", "api", "worker"):
        assert compose["services"][name]["environment"] == env


def test_dockerfile_is_slim_non_root_and_health_checked() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and user[-1] not in {"root", "0"}
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", text, re.M)
    assert re.search(r'^CMD \["toolpress", "serve"\]', text, re.M)
    for path in re.findall(r"^COPY (\S+) ", text, re.M):
        assert (DOCKER.parent / path).exists(), path
    ignored = (DOCKER / "Dockerfile.dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored


def test_nginx_round_robins_the_api_without_buffering_streams() -> None:
    text = (DOCKER / "nginx.conf").read_text()
    assert re.search(r"upstream toolpress_api \{\s*server api:8000", text)
    assert "proxy_buffering off;" in text
    assert "proxy_http_version 1.1;" in text
    assert text.count("{") == text.count("}")


def _seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration))


def test_api_replicas_get_more_time_to_stop_than_their_drain_grace_period(compose: dict) -> None:
    """Docker SIGKILLs a container after stop_grace_period (10 s by default): it must outlast the drain."""
    grace = float(compose["x-toolpress-env"].get("TOOLPRESS_SHUTDOWN_GRACE_SECONDS", Settings.model_fields["shutdown_grace_seconds"].default))
    assert _seconds(compose["services"]["api"]["stop_grace_period"]) > grace


def test_the_api_trusts_forwarded_addresses_from_the_proxy_alone(compose: dict) -> None:
    """The log-in limits count per client address: behind nginx the API must see the client's, and only nginx
    may tell it (a client's own X-Forwarded-For from anywhere else is ignored)."""
    trusted = json.loads(compose["x-toolpress-env"]["TOOLPRESS_TRUSTED_PROXIES"])
    proxy_address = compose["services"]["proxy"]["networks"]["default"]["ipv4_address"]
    assert trusted == [proxy_address]
    [pool] = compose["networks"]["default"]["ipam"]["config"]
    assert ipaddress.ip_address(proxy_address) in ipaddress.ip_network(pool["subnet"])
    assert ipaddress.ip_address(proxy_address) not in ipaddress.ip_network(pool["ip_range"])  # never handed out
    assert Settings(trusted_proxies=trusted).trusted_proxies == trusted
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in (DOCKER / "nginx.conf").read_text()
