"""What the sandbox processes of a running server have loaded: the engine, not the server."""

from __future__ import annotations

from pathlib import Path

from support.sandbox import sandbox_pids
from support.stack import Stack

# A C extension only the server side loads, at import: the accounts layer's password hashing (argon2). Its
# database layer is no marker: a run's `sql` step may load SQLAlchemy in a sandbox process itself.
SERVER_ONLY = ("/_argon2_cffi_bindings/",)


def test_sandbox_processes_do_not_load_the_server(stack: Stack) -> None:
    """multiprocessing runs the parent's main script (`toolpress`) again in every process it starts; that script
    must not pull the web server, task queue and database layers into the processes that run apps (each once held
    about 60 MB of its own for them, and started slower)."""
    pids = sandbox_pids(stack)
    assert pids, "no sandbox process found"
    for pid in pids:
        maps = Path(f"/proc/{pid}/maps").read_text()
        assert "site-packages" in maps  # the engine's own C extensions are there
        loaded = [name for name in SERVER_ONLY if name in maps]
        assert not loaded, f"sandbox process {pid} loaded {loaded}"
