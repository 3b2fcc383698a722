"""The confined process that runs one code step; started by ``workflows.codebox.process`` as a script.

It imports nothing of Toolpress (only the standard library, ``quickjs`` and ``pyseccomp``), so it starts
fast and carries none of the worker's state: a fresh interpreter per call, with an empty environment.
Before it reads the user's code it confines itself, in this order:

1. kernel limits that the code cannot raise: address space (memory), CPU seconds (SIGXCPU, then SIGKILL
   one second later), no core files; it dies with its parent;
2. the modules a step may import are loaded while the file system is still reachable;
3. a seccomp filter: every system call outside a short allow-list (memory, signals, clocks, randomness,
   writing to stdout/stderr, exiting) fails with EPERM, so opening a file, making a socket, starting a
   process or reading another process's memory is refused by the kernel whatever Python object the code
   gets hold of.

The code's ``main`` is called with the step's data and its value is written to stdout as one JSON
document: ``{"ok": true, "result": …, "output": …}`` or ``{"ok": false, "error": …, "line": …, …}``.
"""

from __future__ import annotations

import ast
import builtins
import ctypes
import ctypes.util
import errno
import io
import json
import os
import resource
import signal
import sys
import traceback

# The standard library a step may import (loaded before the filter, so no file is read afterwards).
ALLOWED_MODULES = (
    "base64", "binascii", "bisect", "calendar", "cmath", "collections", "copy", "dataclasses", "datetime",
    "decimal", "difflib", "enum", "fractions", "functools", "hashlib", "heapq", "hmac", "html", "itertools",
    "json", "math", "operator", "random", "re", "secrets", "statistics", "string", "struct", "textwrap",
    "time", "typing", "unicodedata", "urllib.parse", "uuid", "zlib",
)
# Modules the allowed ones import lazily, loaded with them.
_SUPPORT_MODULES = {"datetime": ("_strptime",), "time": ("_strptime",), "json": ("encodings.utf_16",),
                    "urllib.parse": ("encodings.idna",)}
_SONAMES = {"c": "libc.so.6", "seccomp": "libseccomp.so.2"}
# System calls a running interpreter needs and that reach nothing outside the process.
_SYSCALLS = (
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "futex", "rt_sigaction", "rt_sigprocmask",
    "rt_sigreturn", "sigaltstack", "clock_gettime", "clock_getres", "gettimeofday", "clock_nanosleep",
    "nanosleep", "getrandom", "getpid", "gettid", "getrusage", "times", "sched_yield", "exit", "exit_group",
    "close", "fstat", "newfstatat", "lseek",
)
OUTPUT_LIMIT = 65_536  # characters of printed text kept
_PR_SET_PDEATHSIG = 1
_CODE_FILE = "<code>"
_dumps, _loads = json.dumps, json.loads  # the code may replace json's functions; this process keeps its own


class _Printed(io.TextIOBase):
    """Where print()/console.log go: kept in memory up to OUTPUT_LIMIT characters."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.cut = False

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        room = OUTPUT_LIMIT - self.size
        if room <= 0:
            self.cut = True
            return len(text)
        self.parts.append(text[:room])
        self.size += min(len(text), room)
        self.cut = self.cut or len(text) > room
        return len(text)

    def text(self) -> str:
        return "".join(self.parts) + ("\n[output truncated]" if self.cut else "")


def _limit(memory_mb: int, cpu_seconds: int) -> None:
    """Kernel limits (lowered only: a limit the parent set stays the ceiling)."""
    def lower(which: int, value: int) -> None:
        _, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))

    lower(resource.RLIMIT_AS, memory_mb * 1_048_576)
    soft = cpu_seconds
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 1 if hard == resource.RLIM_INFINITY else min(soft + 1, hard)))
    lower(resource.RLIMIT_CORE, 0)
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def _find_library(name: str, _search: object = ctypes.util.find_library) -> str | None:
    """The library's soname when it loads (no ``ldconfig -p`` subprocess), else the usual search."""
    soname = _SONAMES.get(name)
    if soname is not None:
        try:
            ctypes.CDLL(soname)
            return soname
        except OSError:
            pass
    return _search(name)  # type: ignore[operator,no-any-return]


def _preload(code: str, language: str) -> None:
    """Load what the code will need while files can still be read: the allowed modules it imports."""
    if language == "javascript":
        import quickjs  # noqa: F401, PLC0415
        return
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return  # reported when the code is compiled
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    for name in sorted(names):
        if name in ALLOWED_MODULES:
            __import__(name)
            for support in _SUPPORT_MODULES.get(name, ()):
                __import__(support)


def _confine() -> None:
    """Install the seccomp filter: the allow-list above, EPERM for every other call."""
    ctypes.util.find_library = _find_library
    import pyseccomp  # noqa: PLC0415 - loaded before the filter

    rules = pyseccomp.SyscallFilter(defaction=pyseccomp.ERRNO(errno.EPERM))
    for name in _SYSCALLS:
        rules.add_rule(pyseccomp.ALLOW, name)
    for fd in (1, 2):
        rules.add_rule(pyseccomp.ALLOW, "write", pyseccomp.Arg(0, pyseccomp.EQ, fd))
    rules.load()


def _refused_import(name: str, globals: object = None, locals: object = None,  # noqa: A002 - __import__'s own names
                    fromlist: tuple[str, ...] = (), level: int = 0) -> object:
    top = name.split(".")[0]
    if level == 0 and (name in ALLOWED_MODULES or top in ALLOWED_MODULES):
        return _real_import(name, globals, locals, fromlist, level)
    raise ImportError(f"module '{name}' is not available in a code step (no file system, network, environment "
                      f"or processes); available: {', '.join(ALLOWED_MODULES)}")


def _no_files(*args: object, **kwargs: object) -> object:
    raise PermissionError("a code step has no file system: open() is refused")


_real_import = builtins.__import__


def _python_builtins() -> dict[str, object]:
    names = dict(vars(builtins))
    for name in ("input", "breakpoint", "help", "exit", "quit", "copyright", "credits", "license"):
        names.pop(name, None)
    names["__import__"] = _refused_import
    names["open"] = _no_files
    return names


def _code_line(tb: object) -> int | None:
    line = None
    for frame, lineno in traceback.walk_tb(tb):  # type: ignore[arg-type]
        if frame.f_code.co_filename == _CODE_FILE:
            line = lineno
    return line


def _run_python(code: str, data: dict[str, object], printed: _Printed) -> dict[str, object]:
    try:
        compiled = compile(code, _CODE_FILE, "exec")
    except SyntaxError as exc:
        return {"ok": False, "kind": "syntax", "line": exc.lineno, "error": f"SyntaxError: {exc.msg}"}
    namespace: dict[str, object] = {"__builtins__": _python_builtins(), "__name__": "__main__"}
    sys.stdout = sys.stderr = printed
    try:
        exec(compiled, namespace)  # noqa: S102 - the point of this confined process
        main = namespace.get("main")
        if not callable(main):
            return {"ok": False, "kind": "contract", "error": "the code must define a function main(...)"}
        function = getattr(main, "__code__", None)
        if function is not None and not function.co_flags & 0x08:  # no **kwargs: pass only the names it takes
            wanted = function.co_varnames[:function.co_argcount + function.co_kwonlyargcount]
            data = {key: value for key, value in data.items() if key in wanted}
        value = main(**data)
        return {"ok": True, "result": _loads(_dumps(value))}
    except MemoryError:
        raise
    except TypeError as exc:
        if "JSON serializable" in str(exc) and exc.__traceback__ is not None and _code_line(exc.__traceback__) is None:
            return {"ok": False, "kind": "contract", "error": f"main() must return a JSON value: {exc}"}
        return _python_error(exc)
    except BaseException as exc:  # noqa: BLE001 - whatever the code raised is its failure
        return _python_error(exc)
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__


def _python_error(exc: BaseException) -> dict[str, object]:
    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    refused = isinstance(exc, OSError) and exc.errno == errno.EPERM
    return {"ok": False, "kind": "refused" if refused else "error", "line": _code_line(exc.__traceback__),
            "error": message}


_JS_PRELUDE = """
globalThis.__printed = [];
globalThis.__printedSize = 0;
globalThis.console = (() => {
  const show = (v) => {
    if (typeof v === "string") return v;
    try { return JSON.stringify(v); } catch (e) { return String(v); }
  };
  const out = (...args) => {
    const line = args.map(show).join(" ") + "\\n";
    if (__printedSize < %d) { __printed.push(line); }
    __printedSize += line.length;
  };
  return { log: out, info: out, warn: out, error: out, debug: out };
})();
"""


def _run_javascript(code: str, data: dict[str, object], memory_mb: int, cpu_seconds: int) -> dict[str, object]:
    import quickjs  # noqa: PLC0415 - loaded before the filter

    context = quickjs.Context()
    context.set_memory_limit(max(8, memory_mb // 2) * 1_048_576)
    context.set_time_limit(cpu_seconds)
    context.eval(_JS_PRELUDE % OUTPUT_LIMIT)
    try:
        context.eval(code)
        kind = context.eval("typeof main")
        if kind != "function":
            return {"ok": False, "kind": "contract", "error": "the code must define a function main({...})"}
        text = context.eval(f"(() => {{ const v = main(JSON.parse({_dumps(_dumps(data))})); "
                            "return v === undefined ? 'null' : JSON.stringify(v); })()")
        result = {"ok": True, "result": _loads(text) if isinstance(text, str) else None}
    except quickjs.JSException as exc:
        result = _javascript_error(str(exc), memory_mb, cpu_seconds)
    printed = context.eval("__printed.join('')")
    cut = context.eval(f"__printedSize > {OUTPUT_LIMIT}")
    result["output"] = str(printed)[:OUTPUT_LIMIT] + ("\n[output truncated]" if cut else "")
    return result


def _javascript_error(text: str, memory_mb: int, cpu_seconds: int) -> dict[str, object]:
    first, _, stack = text.partition("\n")
    if first.startswith("InternalError: out of memory"):
        return {"ok": False, "kind": "memory"}
    if first.startswith("InternalError: interrupted"):
        return {"ok": False, "kind": "cpu"}
    line = None
    for frame in stack.splitlines():
        if "<input>:" in frame:
            digits = frame.rsplit("<input>:", 1)[1].rstrip(")").strip()
            if digits.isdigit():
                line = int(digits)
                break
    return {"ok": False, "kind": "syntax" if first.startswith("SyntaxError") else "error", "line": line,
            "error": first}


def _write(document: dict[str, object]) -> None:
    data = _dumps(document).encode()
    while data:
        data = data[os.write(1, data):]


def main() -> None:
    """Confine this process, read the job from stdin, run it, write the outcome to stdout."""
    memory_mb, cpu_seconds = int(sys.argv[1]), int(sys.argv[2])
    sys.path.extend(sys.argv[3:])  # where quickjs and pyseccomp are installed (started without site)
    _limit(memory_mb, cpu_seconds)
    job = _loads(sys.stdin.buffer.read())
    os.close(0)
    _preload(job["code"], job["language"])
    try:
        _confine()
    except Exception as exc:  # noqa: BLE001 - never run unconfined
        _write({"ok": False, "kind": "unconfined", "error": f"{type(exc).__name__}: {exc}"})
        return
    printed = _Printed()
    try:
        if job["language"] == "javascript":
            outcome = _run_javascript(job["code"], job["data"], memory_mb, cpu_seconds)
        else:
            outcome = _run_python(job["code"], job["data"], printed)
            outcome["output"] = printed.text()
    except MemoryError:
        job = outcome = {}  # drop what can be dropped, then say what happened
        outcome = {"ok": False, "kind": "memory", "output": printed.text()[-4096:]}
    _write(outcome)


if __name__ == "__main__":
    main()
