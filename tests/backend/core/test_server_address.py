"""The base URL: the public URL when configured, else the address `serve` listens on (recorded for the CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.core.server_address import bind_socket, listen_url, record_listen_url, recorded_listen_url
from backend.core.settings import Settings


@pytest.mark.parametrize(
    ("host", "url"),
    [("127.0.0.1", "http://127.0.0.1:8300"), ("0.0.0.0", "http://127.0.0.1:8300"), ("::", "http://127.0.0.1:8300"),
     ("::1", "http://[::1]:8300"), ("tools.internal", "http://tools.internal:8300")],
)
def test_a_listen_address_becomes_the_url_a_local_client_reaches(host: str, url: str) -> None:
    assert listen_url(host, 8300) == url


def test_the_recorded_address_is_read_back_and_a_broken_record_is_ignored(tmp_path: Path) -> None:
    assert recorded_listen_url(tmp_path) is None
    record_listen_url(tmp_path, "http://127.0.0.1:8300")
    assert recorded_listen_url(tmp_path) == "http://127.0.0.1:8300"
    (tmp_path / "server.json").write_text("not json")
    assert recorded_listen_url(tmp_path) is None


def test_without_a_public_url_the_cli_uses_what_serve_recorded_else_the_host_and_port(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path, port=8400).base_url == "http://127.0.0.1:8400"
    record_listen_url(tmp_path, "http://127.0.0.1:8300")
    assert Settings(data_dir=tmp_path, port=8400).base_url == "http://127.0.0.1:8300"


def test_a_configured_public_url_wins(tmp_path: Path) -> None:
    record_listen_url(tmp_path, "http://127.0.0.1:8300")
    settings = Settings(data_dir=tmp_path, public_url="https://tools.example.com/")
    settings.listening_on("127.0.0.1", 8500)
    assert settings.base_url == "https://tools.example.com"


def test_the_serving_process_uses_its_own_socket(tmp_path: Path) -> None:
    record_listen_url(tmp_path, "http://127.0.0.1:8300")
    settings = Settings(data_dir=tmp_path)
    with bind_socket("127.0.0.1", 0) as sock:
        sock.listen()
        settings.listening_on("127.0.0.1", sock.getsockname()[1])
        assert settings.base_url == f"http://127.0.0.1:{sock.getsockname()[1]}"
        with pytest.raises(OSError):
            bind_socket("127.0.0.1", sock.getsockname()[1]).close()
