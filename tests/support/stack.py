"""Start Toolpress as real processes: embedded (one `toolpress serve`) or Redis + PostgreSQL + a worker."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from support.apps import ApiUser

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
POSTGRES_ADMIN_URL = os.environ.get("TOOLPRESS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TOOLPRESS_TEST_REDIS", "redis://127.0.0.1:6379/0")
FIXTURES = REPO / "tests" / "fixtures"


def free_port() -> int:
    """An unused TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float, what: str, interval: float = 0.05) -> None:  # type: ignore[no-untyped-def]
    """Poll `predicate` until true or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM a process and wait for it (SIGKILL after 15 s)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@dataclass
class Stack:
    """A running Toolpress deployment and the environment its CLI needs."""

    name: str
    base_url: str
    env: dict[str, str]
    workdir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    log_files: list[Path] = field(default_factory=list)
    api: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)  # base URL -> its `serve` process
    builder: ApiUser | None = field(default=None, repr=False)  # the console user publish_and_enable publishes as

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run `toolpress ARGS` against this stack's database."""
        result = subprocess.run(
            [str(BIN / "toolpress"), *args], env=self.env, cwd=self.workdir, capture_output=True, text=True, timeout=60
        )
        if check and result.returncode != 0:
            raise AssertionError(f"toolpress {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def import_app(self, fixture: str) -> str:
        """Import a YAML fixture with the CLI, under a unique name; return the new app id."""
        copy = self.workdir / f"{uuid.uuid4().hex}.yaml"
        copy.write_text(_renamed(fixture))
        return self.cli("apps", "import", str(copy)).stdout.strip()

    def publish_and_enable(self, fixture: str) -> tuple[str, str]:
        """Create, publish and enable an app from a YAML fixture, under a unique name; return (app id, MCP URL).

        Through the REST API, as a console user of the stack: a CLI process per step would cost seconds each.
        """
        if self.builder is None:
            self.builder = ApiUser(self.base_url)
        app_id, url = self.builder.publish(_renamed(fixture))
        return str(app_id), url

    def logs(self) -> str:
        """Everything the stack's processes have logged so far."""
        return "\n".join(p.read_text(errors="replace") for p in self.log_files if p.exists())

    def _spawn(self, label: str, *args: str) -> subprocess.Popen[bytes]:
        log = self.workdir / f"{label}.log"
        self.log_files.append(log)
        handle = open(log, "wb")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            [str(BIN / "toolpress"), *args], env=self.env, cwd=self.workdir, stdout=handle, stderr=subprocess.STDOUT
        )
        self.processes.append(proc)
        return proc

    def start_api(self, port: int) -> None:
        """Start `toolpress serve` and wait for /healthz."""
        wait_until(self._spawn_api(port), 90, "the API server")

    def start_worker(self, concurrency: int = 2, beat: bool = False) -> None:
        """Start `toolpress worker` (with beat: `--beat`) and wait until Celery says it is ready."""
        wait_until(self._spawn_worker(concurrency, beat), 90, "the Celery worker")

    def _spawn_api(self, port: int) -> Callable[[], bool]:
        """Start `toolpress serve`; return whether it answers /healthz yet (raising if it exited)."""
        proc = self._spawn(f"api-{port}", "serve", "--port", str(port))
        self.api[f"http://127.0.0.1:{port}"] = proc

        def healthy() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"toolpress serve exited early:\n{self.logs()[-3000:]}")
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        return healthy

    def _spawn_worker(self, concurrency: int = 2, beat: bool = False) -> Callable[[], bool]:
        """Start `toolpress worker`; return whether Celery has said it is ready (raising if it exited)."""
        extra = ["--beat"] if beat else []
        proc = self._spawn(f"worker-{len(self.processes)}", "worker", "--concurrency", str(concurrency), *extra)
        log = self.log_files[-1]

        def ready() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"toolpress worker exited early:\n{log.read_text(errors='replace')[-3000:]}")
            return "ready." in log.read_text(errors="replace")

        return ready

    def stop(self) -> None:
        """Stop every process of the stack."""
        if self.builder is not None:
            self.builder.close()
            self.builder = None
        for proc in reversed(self.processes):
            stop_process(proc)


def _renamed(fixture: str) -> str:
    """A YAML fixture's text with a unique app name (names are unique per owner)."""
    doc = yaml.safe_load((FIXTURES / fixture).read_text())
    doc["name"] = f"{doc['name']} {uuid.uuid4().hex[:8]}"
    return yaml.safe_dump(doc, sort_keys=False)


def _base_env(workdir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOOLPRESS_")}
    env.update(
        TOOLPRESS_DATA_DIR=str(workdir / "data"),
        TOOLPRESS_PUBLIC_URL=f"http://127.0.0.1:{port}",
        TOOLPRESS_LOG_LEVEL="INFO",
        TOOLPRESS_HTTP_ALLOW='["127.0.0.1"]',  # apps in tests may reach local stand-in servers
        PYTHONUNBUFFERED="1",
    )
    return env


def start_embedded(workdir: Path, **settings: str) -> Stack:
    """`toolpress serve` with its defaults: SQLite, in-memory broker, worker threads in the same process.

    `settings` override TOOLPRESS_* variables: `task_threshold_seconds="0"` sets TOOLPRESS_TASK_THRESHOLD_SECONDS.
    """
    port = free_port()
    env = _base_env(workdir, port)
    env.update({f"TOOLPRESS_{name.upper()}": value for name, value in settings.items()})
    stack = Stack("embedded", f"http://127.0.0.1:{port}", env, workdir)
    stack.start_api(port)
    return stack


def create_database() -> str:
    """A fresh PostgreSQL database for one test session; returns its SQLAlchemy URL."""
    import psycopg

    name = f"toolpress_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"


def drop_database(url: str) -> None:
    """Drop a database made by create_database."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_production(workdir: Path, api_processes: int = 1, workers: int = 1, **settings: str) -> Stack:
    """PostgreSQL + Redis broker, `toolpress serve` without an embedded worker, and `toolpress worker`.

    `settings` override TOOLPRESS_* variables, as for `start_embedded`.
    """
    ports = [free_port() for _ in range(api_processes)]
    env = _base_env(workdir, ports[0])
    env.update(
        TOOLPRESS_ENV="production",
        TOOLPRESS_SECRET_KEY=uuid.uuid4().hex + uuid.uuid4().hex,
        TOOLPRESS_DATABASE_URL=create_database(),
        TOOLPRESS_BROKER_URL=REDIS_URL,
        TOOLPRESS_QUEUE=f"toolpress-test-{uuid.uuid4().hex[:8]}",
        TOOLPRESS_LOAD_EXAMPLES="false",
    )
    env.update({f"TOOLPRESS_{name.upper()}": value for name, value in settings.items()})
    stack = Stack("redis-postgres", f"http://127.0.0.1:{ports[0]}", env, workdir)
    stack.cli("db", "upgrade")
    # every process starts at once (each takes seconds to import and connect); each is looked at until it is up,
    # so one that exits early is reported at once, and one already up is not asked again
    pending = [stack._spawn_worker() for _ in range(workers)] + [stack._spawn_api(port) for port in ports]

    def all_started() -> bool:
        pending[:] = [started for started in pending if not started()]
        return not pending

    try:
        wait_until(all_started, 90, "the stack's workers and API servers")
    except BaseException:
        stop_stack(stack)
        raise
    return stack


def stop_stack(stack: Stack) -> None:
    """Stop processes and drop the database of a stack."""
    stack.stop()
    url = stack.env.get("TOOLPRESS_DATABASE_URL", "")
    if url.startswith("postgresql"):
        drop_database(url)
    shutil.rmtree(stack.workdir / "data", ignore_errors=True)


@contextmanager
def running(stack: Stack) -> Iterator[Stack]:
    """Hold a started stack for a `with` block, then stop it (and drop its database)."""
    try:
        yield stack
    finally:
        stop_stack(stack)
