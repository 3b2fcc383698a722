"""Parsing, reference checking, rendering and evaluation of the spec's Jinja2 templates.

Templates see four names: ``inputs`` (the validated arguments), ``steps`` (results of
earlier steps by id, e.g. ``steps.greet.text``), ``secrets`` (named secrets passed to
``execute``; readable only in the fields that send them out, see ``workflows.secret_flow``) and ``context`` (run metadata
passed to ``execute``). Steps inside a ``map`` also see ``item`` and ``index``. A value
that is exactly one ``{{ expression }}`` keeps its native JSON type.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from itertools import islice
from typing import Any

from jinja2 import TemplateSyntaxError, Undefined, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.environment import Template
from markupsafe import Markup

from workflows.sandbox import MAX_OUTPUT_CHARS, RenderError, environment, render_budget

__all__ = [
    "ROOT_NAMES",
    "check_template",
    "describe_error",
    "evaluate",
    "is_single_expression",
    "render",
    "template_ast",
]

ROOT_NAMES = ("inputs", "steps", "secrets", "context")
_MAX_REASON = 500


@lru_cache(maxsize=512)
def _parse(source: str) -> nodes.Template:
    return environment.parse(source)


def template_ast(source: str) -> nodes.Template:
    """The parsed syntax tree of a template (cached); raises TemplateSyntaxError."""
    return _parse(source)


@lru_cache(maxsize=512)
def _compile(source: str) -> Template:
    return environment.from_string(source)


@lru_cache(maxsize=512)
def _compile_expression(expression: str) -> Any:
    # compiled once per process: compiling costs far more than evaluating, and the result holds no run state
    return environment.compile_expression(expression, undefined_to_none=False)


def _single_expression(source: str) -> str | None:
    text = source.strip()
    if not (text.startswith("{{") and text.endswith("}}")):
        return None
    try:
        body = _parse(text).body
    except TemplateSyntaxError:
        return None
    if len(body) != 1 or not isinstance(body[0], nodes.Output) or len(body[0].nodes) != 1:
        return None
    if isinstance(body[0].nodes[0], nodes.TemplateData):
        return None
    inner = text[2:-2]
    inner = inner[1:] if inner[:1] in "-+" else inner
    inner = inner[:-1] if inner[-1:] in "-+" else inner
    return inner.strip()


def is_single_expression(source: str) -> bool:
    """Tell whether a template is exactly one ``{{ expr }}`` (evaluated to a native value)."""
    return _single_expression(source) is not None


def _reference(node: nodes.Getattr | nodes.Getitem) -> tuple[str, str] | None:
    target = node.node
    if not isinstance(target, nodes.Name) or target.name not in ("inputs", "steps"):
        return None
    if isinstance(node, nodes.Getattr):
        return target.name, node.attr
    if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        return target.name, node.arg.value
    return None


def _names(items: Sequence[str]) -> str:
    return ", ".join(items) if items else "none"


def check_template(
    source: str,
    *,
    inputs: Sequence[str],
    earlier_steps: Sequence[str],
    later_steps: Sequence[str] = (),
    step_id: str | None = None,
    extra_names: Sequence[str] = (),
    step_fields: Mapping[str, Sequence[str] | None] | None = None,
) -> list[str]:
    """Return readable problems in a template: syntax errors and unknown or forward references.

    ``extra_names`` are further root names in scope (``item``/``index`` inside a map);
    ``step_fields`` maps a step id to the result fields its node type documents, so
    ``steps.fetch.jsn`` is reported when the step only returns ``status``/``json``/….
    """
    try:
        ast = _parse(source)
    except TemplateSyntaxError as exc:
        return [f"syntax error on line {exc.lineno}: {exc.message}"]
    problems: list[str] = []
    for stmt in ast.find_all((nodes.Include, nodes.Extends, nodes.Import, nodes.FromImport)):
        problems.append(f"line {stmt.lineno}: templates cannot include, import or extend other templates")
    for lineno, name in _internal_names(ast):
        problems.append(f"line {lineno}: '{name}' is not available in templates (names starting with '_' are "
                        "internal to Python)")
    allowed = set(ROOT_NAMES) | set(environment.globals) | set(extra_names)
    try:
        undeclared = meta.find_undeclared_variables(ast)
    except TemplateSyntaxError as exc:  # unknown filter or test, found while compiling
        return [*problems, f"line {exc.lineno}: {exc.message}"]
    for name in sorted(undeclared - allowed):
        names = ", ".join((*ROOT_NAMES, *extra_names))
        problems.append(f"unknown variable '{name}'; templates can use {names}")
    parents = {id(outer.node): outer for outer in ast.find_all((nodes.Getattr, nodes.Getitem))}
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        ref = _reference(node) if isinstance(node, (nodes.Getattr, nodes.Getitem)) else None
        if ref is None:
            continue
        kind, key = ref
        where = f"line {node.lineno}: "
        if kind == "inputs" and key not in inputs:
            problems.append(f"{where}unknown input '{key}'; declared inputs: {_names(inputs)}")
        elif kind == "steps" and key not in earlier_steps:
            if key == step_id:
                problems.append(f"{where}step '{key}' cannot refer to its own result")
            elif key in later_steps:
                problems.append(
                    f"{where}step '{key}' runs later; a template can only use earlier steps "
                    f"({_names(earlier_steps)})"
                )
            else:
                problems.append(f"{where}unknown step '{key}'; earlier steps: {_names(earlier_steps)}")
        elif kind == "steps" and step_fields:
            problems += _field_problems(node, parents.get(id(node)), key, step_fields.get(key))
    return list(dict.fromkeys(problems))


def _field_problems(node: nodes.Node, parent: nodes.Node | None, step: str,
                    fields: Sequence[str] | None) -> list[str]:
    """Report ``steps.<step>.<field>`` when the step's node type never returns that field."""
    if not fields or not isinstance(parent, (nodes.Getattr, nodes.Getitem)):
        return []
    field_name = parent.attr if isinstance(parent, nodes.Getattr) else (
        parent.arg.value if isinstance(parent.arg, nodes.Const) and isinstance(parent.arg.value, str) else None)
    if field_name is None or field_name in fields:
        return []
    return [f"line {node.lineno}: step '{step}' has no result field '{field_name}'; it returns {_names(list(fields))}"]


_ATTRIBUTE_FILTERS = frozenset({"attr", "map", "selectattr", "rejectattr", "sort", "groupby", "sum", "unique",
                                "min", "max"})


def _internal_names(ast: nodes.Template) -> Iterator[tuple[int, str]]:
    """``x.__class__``, ``x['_y']``, ``x|attr('__init__')``: attribute names the sandbox would refuse at run time.

    Reporting them when the spec is saved gives the builder a clear error instead of a run that fails later.
    """
    for node in ast.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            yield node.lineno, node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) \
                and isinstance(node.arg.value, str) and node.arg.value.startswith("_"):
            yield node.lineno, node.arg.value
        elif isinstance(node, nodes.Filter) and node.name in _ATTRIBUTE_FILTERS:
            for arg in [*node.args, *(kw.value for kw in node.kwargs)]:
                if isinstance(arg, nodes.Const) and isinstance(arg.value, str) and arg.value.startswith("_"):
                    yield node.lineno, arg.value


def describe_error(exc: BaseException) -> str:
    """Turn an exception raised while rendering into a short, model-readable reason."""
    if isinstance(exc, RenderError):
        reason = exc.reason
    elif isinstance(exc, SecurityError):
        reason = f"the template tried to access an unsafe attribute ({exc})"
    elif isinstance(exc, TemplateSyntaxError):
        reason = f"syntax error on line {exc.lineno}: {exc.message}"
    elif isinstance(exc, UndefinedError):
        reason = str(exc.message or exc)
    elif isinstance(exc, RecursionError):
        reason = "the template recursed too deeply"
    elif isinstance(exc, MemoryError):
        reason = "the template ran out of memory"
    else:
        reason = f"{type(exc).__name__}: {exc}"
    return reason if len(reason) <= _MAX_REASON else reason[: _MAX_REASON - 3] + "..."


def render(source: str, variables: Mapping[str, Any]) -> str:
    """Render a template to text within the sandbox budgets; raise RenderError on failure."""
    try:
        with render_budget():
            chunks: list[str] = []
            size = 0
            for chunk in _compile(source).generate(dict(variables)):
                size += len(chunk)
                if size > MAX_OUTPUT_CHARS:
                    raise RenderError(f"rendered text is longer than {MAX_OUTPUT_CHARS} characters")
                chunks.append(chunk)
            return "".join(chunks)
    except MemoryError:
        raise  # the process ran out of its memory: not this template's failure to describe (see execute)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a readable reason
        raise RenderError(describe_error(exc)) from None


def _materialise(value: Any) -> Any:
    if isinstance(value, Undefined):
        str(value)  # StrictUndefined raises the precise "has no attribute" error here
    if isinstance(value, (Iterator, range)):
        value = list(islice(value, MAX_OUTPUT_CHARS + 1))
    if isinstance(value, (str, list)) and len(value) > MAX_OUTPUT_CHARS:
        raise RenderError(f"value is longer than {MAX_OUTPUT_CHARS} items")
    if isinstance(value, Markup):
        value = str(value)
    return value


def evaluate(source: str, variables: Mapping[str, Any]) -> Any:
    """Evaluate a value template: one ``{{ expr }}`` yields a native value, anything else text."""
    expression = _single_expression(source)
    if expression is None:
        return render(source, variables)
    try:
        with render_budget():
            return _materialise(_compile_expression(expression)(**dict(variables)))
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure becomes a readable reason
        raise RenderError(describe_error(exc)) from None
