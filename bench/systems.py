"""The systems under test: how each is started, reached and stopped."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
BIN = Path(sys.executable).parent
GRADIO_VENV = BENCH / ".venv-gradio"
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")  # for the raw Celery reference line
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "9"))
REDIS_SERVER = os.environ.get("BENCH_REDIS_SERVER", "redis-server")  # each production stack runs its own
CALL_TIMEOUT = 30.0

ECHO_APP = """\
name: __NAME__
description: Returns the text it is given.
tool_name: echo
inputs:
  - name: text
    type: string
    required: true
steps:
  - id: echo
    type: template
    template: "{{ inputs.text }}"
outputs:
  - name: text
    type: string
    value: "{{ steps.echo.text }}"
"""

PROGRESS_APP = """\
name: __NAME__
description: Three template steps, one progress notification each.
tool_name: echo3
inputs:
  - name: text
    type: string
    required: true
steps:
  - id: s1
    type: template
    template: "{{ inputs.text }}"
  - id: s2
    type: template
    template: "{{ steps.s1.text }}"
  - id: s3
    type: template
    template: "{{ steps.s2.text }}"
outputs:
  - name: text
    type: string
    value: "{{ steps.s3.text }}"
"""

# No sleep step exists and http_request refuses loopback without an allow-list the backend does not set,
# so the slow app burns time in sandboxed template loops (each step well under the 10 s render limit).
SLOW_APP = """\
name: __NAME__
description: Slow on purpose (template loops).
tool_name: slow
inputs:
  - name: text
    type: string
    required: true
steps:
""" + "".join(
    f"""  - id: w{i}
    type: template
    template: "{{% for i in range(900000) %}}{{% endfor %}}{{{{ inputs.text }}}}"
""" for i in range(20)
) + """outputs:
  - name: text
    type: string
    value: "{{ steps.w19.text }}"
"""


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code < 500
    except httpx.HTTPError:
        return False


def redis_answers(port: int) -> bool:
    import redis

    try:
        with redis.Redis(port=port, socket_timeout=1) as client:
            return bool(client.ping())
    except redis.RedisError:
        return False


def stop_proc(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class System:
    """A running system under test: processes, an MCP URL for the echo tool, and how to tear it down."""

    name = "?"
    mode = "legacy"
    tool = "echo"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: list[subprocess.Popen[bytes]] = []
        self.parts: dict[int, str] = {}  # pid of each spawned process -> the part its CPU counts in
        self.logs: list[Path] = []
        self.url = ""
        self.api_pid = 0

    def spawn(self, label: str, argv: list[str], env: dict[str, str] | None = None,
              cwd: Path | None = None, part: str = "api") -> subprocess.Popen[bytes]:
        """Start a process of the system; `part` names what its CPU counts as (bench/cpu_parts.py)."""
        log = self.workdir / f"{label}.log"
        self.logs.append(log)
        handle = open(log, "wb")  # noqa: SIM115
        proc = subprocess.Popen(argv, env=env, cwd=cwd or self.workdir, stdout=handle, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        self.parts[proc.pid] = part
        return proc

    def tail(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in self.logs if p.exists())

    def stop(self) -> None:
        for proc in reversed(self.procs):
            stop_proc(proc)
        self.procs.clear()
        self.parts.clear()


class Bare(System):
    """The bare SDK server, stateless like Toolpress (or with sessions: `BareStateful`)."""

    name = "bare SDK"
    flags: tuple[str, ...] = ()

    def start(self) -> None:
        port = free_port()
        proc = self.spawn("bare", [sys.executable, str(BENCH / "servers" / "bare_sdk.py"), str(port), *self.flags])
        self.api_pid = proc.pid
        wait_until(lambda: port_open(port), 60, "bare SDK server")
        self.url = f"http://127.0.0.1:{port}/mcp/"


class BareStateful(Bare):
    name = "bare SDK stateful"
    flags = ("--stateful",)


def ensure_gradio_venv() -> Path:
    python = GRADIO_VENV / "bin" / "python"
    if not python.exists() or subprocess.run([str(python), "-c", "import gradio"], capture_output=True).returncode:
        print("creating bench/.venv-gradio (pip install gradio[mcp]) ...", flush=True)
        subprocess.run(["python3", "-m", "venv", str(GRADIO_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "gradio[mcp]"], check=True)
    return python


class Gradio(System):
    """Gradio's MCP server in its default queued mode (or without the queue: `GradioNoQueue`)."""

    name = "Gradio"
    flags: tuple[str, ...] = ()

    def start(self) -> None:
        python = ensure_gradio_venv()
        port = free_port()
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
        proc = self.spawn("gradio", [str(python), str(BENCH / "servers" / "gradio_echo.py"), str(port), *self.flags],
                          env=env)
        self.api_pid = proc.pid
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/"), 120, "Gradio")
        self.url = f"http://127.0.0.1:{port}/gradio_api/mcp/"
        self.version = subprocess.run([str(python), "-c", "import gradio;print(gradio.__version__)"],
                                      capture_output=True, text=True).stdout.strip()


class GradioNoQueue(Gradio):
    name = "Gradio queue=False"
    flags = ("--no-queue",)


class Toolpress(System):
    """Embedded (`production=False`) or Redis (a redis-server of its own) + PostgreSQL + 2 workers."""

    def __init__(self, workdir: Path, production: bool) -> None:
        super().__init__(workdir)
        self.production = production
        self.name = "Toolpress Redis+PG" if production else "Toolpress embedded"
        self.db_url = ""
        self.broker_url = ""
        self.queue = ""

    def cli(self, *args: str) -> str:
        res = subprocess.run([str(BIN / "toolpress"), *args], env=self.env, cwd=self.workdir,
                             capture_output=True, text=True, timeout=120)
        if res.returncode:
            raise RuntimeError(f"toolpress {' '.join(args)} failed: {res.stderr[-2000:]}")
        return res.stdout.strip()

    def start(self) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOOLPRESS_")}
        env.update(TOOLPRESS_DATA_DIR=str(self.workdir / "data"), TOOLPRESS_PUBLIC_URL=f"http://127.0.0.1:{self.port}",
                   TOOLPRESS_LOG_LEVEL="WARNING", TOOLPRESS_LOAD_EXAMPLES="false", PYTHONUNBUFFERED="1",
                   # limits far above what the load reaches: the limiter runs on every call, as in production,
                   # but the default 120 calls per minute and 10 at a time would refuse most of the benchmark
                   TOOLPRESS_RATE_LIMIT_PER_MINUTE="100000000", TOOLPRESS_MAX_CONCURRENT_RUNS="100000")
        if self.production:
            import psycopg

            dbname = f"toolpress_bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{dbname}"')
            self.db_url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + dbname
            self.queue = f"toolpress-bench-{uuid.uuid4().hex[:8]}"
            self.broker_url = self.start_redis()
            env.update(TOOLPRESS_ENV="production", TOOLPRESS_SECRET_KEY=secrets.token_hex(32),
                       TOOLPRESS_DATABASE_URL=self.db_url, TOOLPRESS_BROKER_URL=self.broker_url,
                       TOOLPRESS_QUEUE=self.queue)
        self.env = env
        if self.production:
            self.cli("db", "upgrade")
            for i in range(2):
                proc = self.spawn(f"worker{i}", [str(BIN / "toolpress"), "worker", "--concurrency", "2"], env=env,
                                  part="worker")
                log = self.logs[-1]
                # at WARNING level Celery does not log "ready."; the banner's queue list comes just before it,
                # and the warm-up calls of every measurement confirm the workers consume
                wait_until(lambda: proc.poll() is not None or "[queues]" in log.read_text(errors="replace"), 120, "worker")
                time.sleep(2)
                if proc.poll() is not None:
                    raise RuntimeError(f"worker exited: {self.tail()}")
        proc = self.spawn("api", [str(BIN / "toolpress"), "serve", "--port", str(self.port)], env=env)
        self.api_pid = proc.pid

        def healthy() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"toolpress serve exited: {self.tail()}")
            return http_ok(f"http://127.0.0.1:{self.port}/healthz")

        wait_until(healthy, 120, "toolpress serve")
        if not self.db_url:
            self.db_url = f"sqlite:///{(self.workdir / 'data' / 'toolpress.db').resolve()}"
        self.url = self.publish(ECHO_APP, "Echo")

    def start_redis(self) -> str:
        """Start the system's own redis-server (no persistence) and return its URL.

        A private server makes its CPU the benchmark's alone; it is stopped with the system.
        """
        port = free_port()
        proc = self.spawn("redis", [REDIS_SERVER, "--port", str(port), "--save", "", "--appendonly", "no",
                                    "--bind", "127.0.0.1"], part="broker")
        wait_until(lambda: proc.poll() is None and redis_answers(port), 30, "redis-server")
        return f"redis://127.0.0.1:{port}/0"

    def publish(self, template: str, name: str) -> str:
        spec = self.workdir / f"{uuid.uuid4().hex}.yaml"
        spec.write_text(template.replace("__NAME__", f"{name} {uuid.uuid4().hex[:6]}"))
        app_id = self.cli("apps", "import", str(spec))
        self.cli("apps", "publish", app_id)
        url = self.cli("mcp", "enable", app_id)
        self.app_ids = getattr(self, "app_ids", {})
        self.app_ids[url] = int(app_id)
        return url

    def stop(self) -> None:
        super().stop()
        if self.production and self.db_url:
            import psycopg

            name = self.db_url.rsplit("/", 1)[1]
            with contextlib.suppress(Exception), psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --------------------------------------------------------------------------- load


