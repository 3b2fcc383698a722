"""Settings from environment variables prefixed `TOOLPRESS_`."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from pydantic import Field, PrivateAttr, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.core.server_address import listen_url, recorded_listen_url

PLACEHOLDER_SECRET_KEYS = frozenset({"", "changeme", "change-me", "secret", "placeholder"})


def default_data_dir() -> Path:
    """The per-user data folder of the platform (`$XDG_DATA_HOME/toolpress`, `~/.local/share/toolpress` on Linux)."""
    return Path(user_data_dir("toolpress", appauthor=False))


class Settings(BaseSettings):
    """Every knob Toolpress reads; defaults give the embedded single-machine mode."""

    model_config = SettingsConfigDict(env_prefix="TOOLPRESS_", extra="ignore")
    _generated_key: str | None = PrivateAttr(default=None)  # the development key file, read once
    _listen_url: str | None = PrivateAttr(default=None)  # where `serve` listens (this process's or the recorded one)

    env: Literal["development", "production"] = "development"
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="The embedded database, generated key and `serve`'s address; one per-user folder by default, "
        "so every command finds the same data from any folder.",
    )
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir.")
    broker_url: str = Field(default="memory://", description="Celery broker; memory:// runs the embedded worker.")
    events_url: str | None = Field(default=None, description="Progress bus; default follows the broker.")
    queue: str = Field(default="toolpress", description="Celery queue the runs go to.")
    public_url: str | None = Field(
        default=None,
        description="The URL clients reach Toolpress at (set it behind a proxy or a load balancer); "
        "default: the address `serve` listens on.",
    )
    secret_key: SecretStr | None = None
    host: str = Field(default="127.0.0.1", description="The address `serve` listens on (`serve --host`).")
    port: int = Field(default=8000, ge=0, le=65535, description="The port `serve` listens on (`serve --port`).")
    embedded_worker: bool | None = Field(default=None, description="Run a worker thread inside `serve`.")
    worker_concurrency: int = 4
    worker_heartbeat_seconds: float = Field(
        default=5.0, gt=0, description="How often a worker says it is alive; silent for 3 intervals, it is gone."
    )
    allowed_hosts: list[str] = Field(default_factory=list, description="Extra Host values accepted by /mcp.")
    allowed_origins: list[str] = Field(default_factory=list, description="Extra Origin values accepted by /mcp.")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or networks (CIDR) of the reverse proxies whose X-Forwarded-For/-Proto `serve` believes.",
    )
    login_failures_per_address: int = Field(
        default=100, ge=0, description="Failed log-ins one client address may make (all accounts) in 15 minutes; 0: no limit.",
    )
    max_request_bytes: int = 1024 * 1024
    call_timeout_seconds: float = 600.0
    run_timeout_seconds: float = Field(default=600.0, gt=0, description="Longest a run may take in the worker.")
    run_cpu_seconds: float = Field(default=30.0, gt=0, description="CPU time a run may use (its process is stopped beyond).")
    run_memory_mb: int = Field(default=512, ge=64, description="Memory the process running a run may use.")
    http_allow: list[str] = Field(default_factory=list, description="host or host:port targets apps may reach even if not public; "
                                    "sqlite:/directory lets sql steps open SQLite files in that directory.")
    load_examples: bool = True
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = Field(default="text", description="`json`: one JSON object per log line.")
    readiness_timeout_seconds: float = Field(default=2.0, description="Timeout of each /readyz and /metrics probe.")
    shutdown_grace_seconds: float = Field(
        default=30.0, ge=0, description="How long a stopping `serve` lets open calls run before closing them."
    )
    worker_lost_after_seconds: float = Field(
        default=10.0, description="A running call quiet this long has its worker asked whether it still runs; 0: never."
    )
    cancel_on_disconnect: bool = Field(
        default=True, description="A call whose HTTP stream drops is cancelled; false: the run finishes and keeps its result."
    )
    stream_poll_seconds: float = Field(
        default=0.0, ge=0, description="A call's SSE stream is closed after this long and the client resumes it with "
        "Last-Event-ID (set it below a proxy's connection time limit); 0: streams stay open until the call ends.",
    )
    stream_retry_ms: int = Field(default=1000, gt=0, description="Reconnection delay suggested to clients of resumable streams.")
    stream_abandon_seconds: float = Field(
        default=10.0, gt=0, description="A resumable call stream nobody has read for this long counts as dropped "
        "(the call is then cancelled if cancel_on_disconnect is on).",
    )
    stream_ping_seconds: float = Field(
        default=15.0, gt=0, description="A keep-alive comment goes on a call's SSE stream after this long without an "
        "event, so a proxy's idle timeout does not cut a quiet call.",
    )
    stream_grace_seconds: float = Field(
        default=300.0, gt=0, description="How long a call's stream can still be resumed after the call has ended.",
    )
    task_threshold_seconds: float = Field(
        default=10.0, ge=0, description="Apps set to `tasks: auto` answer with a task when their median run is longer."
    )
    task_ttl_seconds: int = Field(default=24 * 3600, gt=0, description="How long a task can be polled after it was created.")
    task_poll_interval_ms: int = Field(default=1000, gt=0, description="Polling interval suggested to task clients.")

    rate_limit_per_minute: int = Field(default=120, ge=0, description="Default calls per minute per endpoint or toolkit; 0: none.")
    max_concurrent_runs: int = Field(default=10, ge=0, description="Default concurrent runs per endpoint or toolkit; 0: none.")
    token_rate_limit_per_minute: int = Field(default=60, ge=0, description="Default calls per minute per token; 0: none.")
    token_max_concurrent_runs: int = Field(default=5, ge=0, description="Default concurrent runs per token; 0: none.")
    limits_url: str | None = Field(default=None, description="Where limits are counted (Redis URL); default follows the progress bus.")
    run_retention_days: float = Field(default=30.0, ge=0, description="Runs older than this are deleted; 0 keeps them forever.")
    retention_interval_seconds: float = Field(default=3600.0, gt=0, description="How often the clean-up of old runs runs.")
    lost_run_sweep_seconds: float = Field(
        default=60.0, gt=0,
        description="How often beat looks for running runs nobody follows whose worker is gone (failed as worker lost).",
    )
    oauth_access_token_seconds: float = Field(default=3600.0, gt=0, description="Lifetime of an OAuth access token.")
    oauth_refresh_token_days: float = Field(default=30.0, gt=0, description="Lifetime of an OAuth refresh token.")
    max_recorded_argument_bytes: int = Field(default=16 * 1024, ge=256, description="Arguments kept in a run's record.")

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if self.env == "production":
            key = self.secret_key.get_secret_value() if self.secret_key else ""
            if key.strip().lower() in PLACEHOLDER_SECRET_KEYS or len(key) < 32:
                raise ValueError("TOOLPRESS_SECRET_KEY must be set to a random value of 32+ characters in production")
        return self

    @model_validator(mode="after")
    def _default_database_url(self) -> Settings:
        # Resolved once here: sqlalchemy_url is read for every database session.
        self.data_dir = self.data_dir.expanduser().resolve()  # the same folder whichever folder a command runs in
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'toolpress.db').resolve()}"
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL (an SQLite file in the data directory unless set)."""
        assert self.database_url is not None
        return self.database_url

    @property
    def base_url(self) -> str:
        """The start of every URL Toolpress prints or returns: the public URL if set, else where `serve` listens.

        In the `serve` process that is its own socket; elsewhere (the CLI) the address the last `serve` on this
        data directory recorded, or the host and port settings `serve` would listen on.
        """
        if self.public_url:
            return self.public_url.rstrip("/")
        if self._listen_url is None:
            self._listen_url = recorded_listen_url(self.data_dir) or listen_url(self.host, self.port)
        return self._listen_url

    def listening_on(self, host: str, port: int) -> None:
        """Record that this process serves on host:port (`serve`, once its socket is bound)."""
        self.host, self.port = host, port
        self._listen_url = listen_url(host, port)

    @property
    def is_embedded_broker(self) -> bool:
        """True when the broker lives in process memory (embedded mode)."""
        return self.broker_url.startswith("memory://")

    @property
    def run_embedded_worker(self) -> bool:
        """Whether `serve` starts a worker thread of its own."""
        return self.is_embedded_broker if self.embedded_worker is None else self.embedded_worker

    @property
    def events_backend_url(self) -> str:
        """Where progress events travel: in-process memory or a Redis pub/sub server."""
        if self.events_url:
            return self.events_url
        if self.broker_url.startswith(("redis://", "rediss://")):
            return self.broker_url
        return "memory://"

    @property
    def limits_backend_url(self) -> str:
        """Where call limits are counted: a Redis server shared by every API process, or this process."""
        return self.limits_url or self.events_backend_url

    def deployment_key(self) -> str:
        """A short name for this deployment (its database), for keys in stores several deployments may share."""
        return hmac.new(self.signing_key().encode(), self.sqlalchemy_url.encode(), hashlib.sha256).hexdigest()[:16]

    def signing_key(self) -> str:
        """The server secret; in development one is generated once and kept in the data directory."""
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        if self._generated_key is None:  # signing is on every request's path: read the file once
            key_file = self.data_dir / "secret_key"
            if not key_file.exists():
                self.data_dir.mkdir(parents=True, exist_ok=True)
                key_file.write_text(secrets.token_urlsafe(48))
                key_file.chmod(0o600)
            self._generated_key = key_file.read_text().strip()
        return self._generated_key


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
