"""The code node (workflows/nodes/code.py) and its confined process (workflows/codebox)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from support.snoop import REAL_IMPORT, snoop_code
from workflows import NodeError, RunCancelled, SpecError, execute, spec_from_dict


def _app(code: str, *, language: str = "python", **fields: Any) -> Any:
    return spec_from_dict({
        "name": "Code", "inputs": [{"name": "x", "type": "string", "required": False}],
        "steps": [{"id": "c", "type": "code", "language": language, "code": code, **fields}],
        "outputs": [],
    })


def _run(code: str, *, language: str = "python", inputs: dict[str, Any] | None = None, **fields: Any) -> Any:
    return execute(_app(code, language=language, **fields), inputs or {})


def _result(code: str, *, language: str = "python", inputs: dict[str, Any] | None = None, **fields: Any) -> Any:
    """The step's result, whatever JSON type it is."""
    [step] = _run(code, language=language, inputs=inputs, **fields).trace
    assert step.output is not None
    return step.output["result"]


def _fails(code: str, *, language: str = "python", inputs: dict[str, Any] | None = None, **fields: Any) -> str:
    with pytest.raises(NodeError) as caught:
        _run(code, language=language, inputs=inputs, **fields)
    return caught.value.message


PY_OK = "def main(inputs):\n    return {'echo': inputs.get('x')}\n"
JS_OK = "function main({inputs}) { return {echo: inputs.x ?? null}; }"


def _still_works(language: str) -> None:
    code = PY_OK if language == "python" else JS_OK
    assert _result(code, language=language, inputs={"x": "next"}) == {"echo": "next"}


# -- what a step can do ----------------------------------------------------------------------------
def test_python_main_gets_inputs_and_earlier_steps_and_its_print_reaches_the_trace() -> None:
    spec = spec_from_dict({
        "name": "P", "inputs": [{"name": "n", "type": "integer"}],
        "steps": [
            {"id": "t", "type": "template", "template": "abc"},
            {"id": "c", "type": "code", "code": (
                "import hashlib, datetime, collections\n"
                "def main(inputs, steps):\n"
                "    print('n is', inputs['n'])\n"
                "    day = datetime.date(2024, 2, 28) + datetime.timedelta(days=inputs['n'])\n"
                "    counts = collections.Counter(steps['t']['text'] * 2)\n"
                "    return {'day': day.isoformat(), 'sha': hashlib.sha256(b'abc').hexdigest()[:8],\n"
                "            'a': counts['a']}\n")},
        ],
        "outputs": [{"name": "r", "type": "object", "value": "{{ steps.c.result }}"}],
    })
    logged: list[Any] = []
    result = execute(spec, {"n": 2}, on_log=logged.append)
    assert result.outputs["r"] == {"day": "2024-03-01", "sha": "ba7816bf", "a": 2}
    [_, step] = result.trace
    assert step.output is not None and step.output["output"] == "n is 2\n"
    assert [(e.step_id, e.level, e.message) for e in logged] == [("c", "info", "n is 2")]  # the caller's step log


def test_javascript_main_gets_one_object_and_console_log_reaches_the_trace() -> None:
    code = ("function main({inputs, steps}) {\n"
            "  console.log('x is', inputs.x, {deep: [1]});\n"
            "  return {upper: inputs.x.toUpperCase(), len: inputs.x.length};\n"
            "}\n")
    result = _run(code, language="javascript", inputs={"x": "héllo"})
    assert result.trace[0].output is not None and result.trace[0].output["result"] == {"upper": "HÉLLO", "len": 5}
    assert result.trace[0].output is not None and result.trace[0].output["output"] == 'x is héllo {"deep":[1]}\n'


def test_inside_a_map_main_also_gets_item_and_index() -> None:
    spec = spec_from_dict({
        "name": "M", "inputs": [{"name": "xs", "type": "array"}],
        "steps": [{"id": "m", "type": "map", "items": "{{ inputs.xs }}", "steps": [
            {"id": "sq", "type": "code", "code": "def main(item, index):\n    return item * item + index\n"}]}],
        "outputs": [{"name": "r", "type": "array", "value": "{{ steps.m.items | map(attribute='result') | list }}"}],
    })
    assert execute(spec, {"xs": [1, 2, 3]}).outputs["r"] == [1, 5, 11]


# -- errors carry the code's own line ------------------------------------------------------------------
def test_a_python_error_names_the_codes_line_and_not_the_hosts_traceback() -> None:
    message = _fails("def main(inputs):\n    a = 1\n    return a / 0\n")
    assert "line 3: ZeroDivisionError: division by zero" in message
    assert "runner.py" not in message and "Traceback" not in message


def test_a_javascript_error_names_the_codes_line() -> None:
    message = _fails("function main() {\n  const a = 1;\n  throw new Error('bad ' + a);\n}", language="javascript")
    assert "line 3: Error: bad 1" in message


def test_what_was_printed_before_a_failure_is_in_the_error() -> None:
    message = _fails("def main():\n    print('step one done')\n    raise ValueError('then this')\n")
    assert "line 3: ValueError: then this" in message and "step one done" in message


def test_syntax_errors_and_a_missing_main_are_spec_errors_with_the_line() -> None:
    with pytest.raises(SpecError) as caught:
        _app("def main():\n    return (1,\n")
    assert "steps[0].code" in str(caught.value) and "line 2" in str(caught.value)
    with pytest.raises(SpecError, match="must define a function main"):
        _app("x = 1\n")
    with pytest.raises(SpecError, match="must define a function main"):
        _app("const x = 1;", language="javascript")


def test_a_javascript_syntax_error_fails_the_step_with_its_line() -> None:
    assert "SyntaxError" in _fails("function main() {\n  return 1 +;\n}", language="javascript")


def test_a_result_that_is_not_json_is_refused() -> None:
    assert "must return a JSON value" in _fails("def main():\n    return {1, 2}\n")


# -- hostile code: each fails naming the limit or the refusal, and the next call works -------------------
@pytest.mark.parametrize("language, code", [
    ("python", "def main():\n    while True:\n        pass\n"),
    ("javascript", "function main() { while (true) {} }"),
])
def test_an_infinite_loop_is_stopped_by_the_cpu_limit(language: str, code: str) -> None:
    assert "more than its 1 s of CPU time" in _fails(code, language=language, cpu_seconds=1)
    _still_works(language)


@pytest.mark.parametrize("language, code", [
    ("python", "def main():\n    blocks = []\n    while True:\n        blocks.append(bytearray(10_000_000))\n"),
    ("python", "def main():\n    return len('x' * 10**10)\n"),
    ("javascript", "function main() { let s = 'x'; const keep = []; while (true) { s = s + s; keep.push(s); } }"),
])
def test_a_memory_bomb_is_stopped_by_the_memory_limit(language: str, code: str) -> None:
    assert "more than its 64 MB of memory" in _fails(code, language=language, memory_mb=64)
    _still_works(language)


def test_a_sleeping_step_is_stopped_by_its_wall_clock_limit() -> None:
    message = _fails("import time\ndef main():\n    time.sleep(30)\n", timeout=0.5)
    assert "longer than its 0.5 s time limit" in message
    _still_works("python")


def test_a_file_read_is_refused() -> None:
    assert "no file system" in _fails("def main():\n    return open('/etc/hostname').read()\n")
    # reaching the real open through a module's internals meets the kernel's refusal
    message = _fails("import random\ndef main():\n    return random._os.listdir('/')\n")
    assert "line 3: PermissionError" in message and "refused by the sandbox" in message
    _still_works("python")


def test_import_os_subprocess_and_socket_are_refused() -> None:
    for module in ("os", "subprocess", "socket", "ctypes", "sys"):
        message = _fails(f"import {module}\ndef main():\n    return 1\n")
        assert f"module '{module}' is not available in a code step" in message, message
    _still_works("python")


def test_sockets_and_processes_are_refused_by_the_kernel_whatever_the_code_reaches() -> None:
    # the import guard is a courtesy: with the real __import__ the kernel still refuses to read a module
    message = _fails(f"import json\ndef main():\n    return {REAL_IMPORT}('socket')\n")
    assert "line 3: PermissionError" in message and "refused by the sandbox" in message
    assert "Operation not permitted" in _fails(f"import json\ndef main():\n    return {REAL_IMPORT}('_socket')\n")
    message = _fails("import random\ndef main():\n    return random._os.fork()\n")
    assert "line 3: PermissionError" in message and "refused by the sandbox" in message
    assert _result("import random\ndef main():\n    return random._os.system('echo hi')\n") == 127 << 8
    message = _fails("import random\ndef main():\n    random._os.kill(random._os.getppid(), 9)\n")
    assert "refused by the sandbox" in message
    _still_works("python")


def test_javascript_has_no_require_no_process_and_no_std_modules() -> None:
    for expression in ("require('fs')", "process.env", "std.open('/etc/passwd', 'r')", "os.exec(['ls'])"):
        message = _fails(f"function main() {{ return {expression}; }}", language="javascript")
        assert "ReferenceError" in message and "is not defined" in message
    _still_works("javascript")


def test_prototype_pollution_does_not_reach_the_next_call() -> None:
    polluter = ("function main() { Object.prototype.polluted = 'yes'; Array.prototype.map = null; "
                "return ({}).polluted; }")
    assert _result(polluter, language="javascript") == "yes"
    checker = "function main() { return [({}).polluted ?? 'clean', typeof [].map]; }"
    assert _result(checker, language="javascript") == ["clean", "function"]


def test_module_state_left_by_one_call_does_not_reach_the_next() -> None:
    _run("import json\ndef main():\n    json.loads = None\n    json.left = 'by the first run'\n    return 1\n")
    assert _result("import json\ndef main():\n    return getattr(json, 'left', 'clean')\n") == "clean"


def test_code_cannot_see_another_runs_data_or_the_environment_or_secrets() -> None:
    other = spec_from_dict({
        "name": "Other", "inputs": [{"name": "x", "type": "string"}],
        "steps": [{"id": "t", "type": "template", "template": "{{ inputs.x }}"}],
        "outputs": [{"name": "o", "type": "string", "value": "{{ steps.t.text }}"}],
    })
    execute(other, {"x": "other-run-private-7f3a"}, secrets={"TOKEN": "secret-value-9c1d"})
    snoop = snoop_code(("this-run-", "own"), ("other-run-", "private"), ("secret-value", "-9c1d"))
    assert _result(snoop, inputs={"x": "this-run-own"}) == [True, False, False]  # its own data only
    message = _fails("def main():\n    return open('/proc/self/environ').read()\n")
    assert "no file system" in message
    environ = "import random\ndef main():\n    return dict(random._os.environ)\n"
    assert set(_result(environ)) <= {"LC_CTYPE"}  # only what the interpreter sets for itself


def test_cancelling_the_run_stops_the_code_at_once() -> None:
    started = threading.Event()
    cancel = threading.Event()

    def should_cancel() -> bool:
        started.set()
        return cancel.is_set()

    threading.Thread(target=lambda: started.wait(10) and cancel.set(), daemon=True).start()
    with pytest.raises(RunCancelled):
        execute(_app("import time\ndef main():\n    time.sleep(30)\n", timeout=60), {}, should_cancel=should_cancel)
    _still_works("python")
