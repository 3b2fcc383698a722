"""Find the sandbox processes of a running stack (the processes that execute runs)."""

from __future__ import annotations

from pathlib import Path

from support.stack import Stack


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def run_hosts(stack: Stack) -> list[int]:
    """The pids of the processes that hand runs to sandbox processes: the workers, or `serve` in embedded mode."""
    workers = [proc.pid for proc in stack.processes if proc.args[1] == "worker" and proc.poll() is None]
    return workers or [proc.pid for proc in stack.api.values() if proc.poll() is None]


def sandbox_pids_of(host: int) -> set[int]:
    """The sandbox processes of one process (a worker, `serve`, or a test that runs a pool): its fork server's children."""
    return {pid for server in _children(host) if "forkserver" in _cmdline(server) for pid in _children(server)}


def sandbox_pids(stack: Stack) -> set[int]:
    """The sandbox processes of a stack alive now."""
    return {pid for host in run_hosts(stack) for pid in sandbox_pids_of(host)}
