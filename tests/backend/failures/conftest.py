"""Helpers for failure tests: a Redis of our own that can be killed, and stacks on a chosen broker."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis
import yaml

from support.stack import REDIS_URL, Stack, _base_env, create_database, free_port, wait_until


class RedisServer:
    """`redis-server` on a fixed loopback port, without persistence, that a test may kill and restart."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = open(self.workdir / f"redis-{self.port}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--dir", str(self.workdir)],
            stdout=log, stderr=subprocess.STDOUT,
        )

        def up() -> bool:
            try:
                return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
            except redis.RedisError:
                return False

        wait_until(up, 20, "redis-server")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


def _end(sock: socket.socket) -> None:
    """Shut a socket down (waking a thread blocked on it), then close it."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class TcpProxy:
    """A TCP relay on loopback that a test can cut (open connections dropped, new ones refused) and restore.

    Put between Toolpress and PostgreSQL, a cut looks to Toolpress exactly like a database restart.
    """

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._upstreams: set[socket.socket] = set()  # the relays' sockets to the target
        self._severed: set[socket.socket] = set()

    def start(self) -> None:
        """Listen (again) on the same port and relay every connection to the target."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Stop listening and drop every relayed connection."""
        if self._listener is not None:
            _end(self._listener)  # shut down first: close() alone would leave it listening under the accepting thread
            self._listener = None
        with self._lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            _end(sock)

    def sever(self) -> None:
        """Kill every relayed connection on the target's side only: Toolpress's sockets stay open and quiet, so
        nothing tells it they are dead until it next sends something (then they close). A network cut while a
        connection idles looks like that; new connections are relayed as before."""
        with self._lock:
            upstreams = self._upstreams & self._open
            self._severed |= upstreams
        for sock in upstreams:
            _end(sock)

    def relays(self) -> set[socket.socket]:
        """The sockets of the connections relayed now."""
        with self._lock:
            return set(self._open)

    def wait_closed(self, sockets: set[socket.socket], timeout: float = 30) -> None:
        """Wait until every one of `sockets` has been closed (both sides of a relay end together)."""
        deadline = time.monotonic() + timeout
        while self.relays() & sockets:
            assert time.monotonic() < deadline, "relayed connections still open"
            time.sleep(0.01)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, upstream))
                self._upstreams.add(upstream)
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        with self._lock:
            severed = src in self._severed
        for sock in (src,) if severed else (src, dst):  # one side ended: end the other too, as a real connection
            # would; a severed upstream leaves its client side open until the client writes to it
            _end(sock)
            with self._lock:
                self._open.discard(sock)


class Gates:
    """An HTTP server whose `/<name>` requests are held until the test opens gate `name`."""

    def __init__(self, *names: str) -> None:
        self.opened = {name: threading.Event() for name in names}
        self.arrived = {name: threading.Event() for name in names}
        gates = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                name = self.path.strip("/")
                gates.arrived[name].set()
                gates.opened[name].wait(60)
                body = json.dumps({"gate": name}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the caller gave up (its worker was stopped)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        for gate in self.opened.values():
            gate.set()
        self.server.shutdown()


def gated_spec(port: int, gate: str, tool: str | None = None, **extra: object) -> str:
    """YAML of an app (tool `tool`, default `gated_<gate>`) whose one step waits for gate `gate` of the Gates server
    on `port`; `extra` adds top-level spec fields (tasks, annotations, …)."""
    return yaml.safe_dump({
        "name": f"Gated {gate} {uuid.uuid4().hex[:6]}",
        "description": "Waits for its gate.",
        "tool_name": tool or f"gated_{gate}",
        "inputs": [],
        **extra,
        "steps": [{"id": "wait", "type": "http_request", "url": f"http://127.0.0.1:{port}/{gate}", "timeout": 60, "retries": 0}],
        "outputs": [{"name": "status", "type": "integer", "value": "{{ steps.wait.status }}"}],
    }, sort_keys=False)


def start_on_broker(
    workdir: Path,
    broker_url: str,
    events_url: str | None = None,
    workers: int = 1,
    database_url: str | None = None,
    **extra: str,
) -> Stack:
    """PostgreSQL + the given broker, one `toolpress serve` without an embedded worker, and workers."""
    port = free_port()
    env = _base_env(workdir, port)
    env.update(
        TOOLPRESS_ENV="production",
        TOOLPRESS_SECRET_KEY=uuid.uuid4().hex + uuid.uuid4().hex,
        TOOLPRESS_DATABASE_URL=database_url or create_database(),
        TOOLPRESS_BROKER_URL=broker_url,
        TOOLPRESS_QUEUE=f"toolpress-test-{uuid.uuid4().hex[:8]}",
        TOOLPRESS_LOAD_EXAMPLES="false",
        **extra,
    )
    if events_url:
        env["TOOLPRESS_EVENTS_URL"] = events_url
    stack = Stack(f"broker-{broker_url.split(':', 1)[0]}", f"http://127.0.0.1:{port}", env, workdir)
    try:
        stack.cli("db", "upgrade")
        for _ in range(workers):
            stack.start_worker()
        stack.start_api(port)
    except BaseException:
        from support.stack import stop_stack

        stop_stack(stack)
        raise
    return stack


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (from /proc)."""
    found: list[int] = []
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found.append(child)
            stack.append(child)
    return found


def kill_tree(pid: int) -> None:
    """SIGKILL a process and all its descendants (a worker dying with its pool, as under the OOM killer)."""
    for target in [pid, *descendants(pid)]:
        try:
            os.kill(target, signal.SIGKILL)
        except ProcessLookupError:
            pass


def run_row(stack: Stack, app_id: str) -> dict:
    """The newest run of an app, read straight from the stack's database (PostgreSQL, or the embedded SQLite file)."""
    from sqlalchemy import create_engine, text

    url = stack.env.get("TOOLPRESS_DATABASE_URL") or f"sqlite:///{stack.env['TOOLPRESS_DATA_DIR']}/toolpress.db"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT * FROM run WHERE app_id = :a ORDER BY created_at DESC LIMIT 1"), {"a": int(app_id)}
            ).mappings().first()
            return dict(row) if row else {}
    finally:
        engine.dispose()


__all__ = ["REDIS_URL", "Gates", "RedisServer", "TcpProxy", "gated_spec", "kill_tree", "run_row", "start_on_broker"]
