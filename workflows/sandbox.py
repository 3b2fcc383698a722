"""The sandboxed Jinja2 environment every template runs in, with resource budgets.

Jinja2's sandbox stops attribute escapes but not denial of service: ``'a' * 10**9``,
``'x' | center(10**9)`` or nested loops allocate or spin without limit. This module
adds per-render budgets (operations, range items, data copied, wall time), caps on
arguments and on the size of numbers, so a template fails fast with a clear message
instead of exhausting a worker. A single C-level operation cannot be interrupted from
inside the interpreter (``(10**2000)**10000`` holds the GIL for seconds), so such
operations are refused by the size of their operands before they run. These checks
are the first line; the process a run executes in has CPU, memory and wall-clock
limits enforced by the operating system as the last.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from itertools import chain, islice
from typing import Any

from jinja2 import StrictUndefined, nodes, pass_environment
from jinja2.filters import make_attrgetter
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace

from workflows.errors import NodeFailure

__all__ = [
    "MAX_OUTPUT_CHARS",
    "MAX_RANGE_ITEMS",
    "MAX_WIDTH",
    "RenderError",
    "environment",
    "render_budget",
]

MAX_OUTPUT_CHARS = 1_048_576  # rendered text and any single string value
MAX_RANGE_ITEMS = 1_000_000  # total items produced by range() in one render
MAX_OPERATIONS = 5_000_000  # attribute lookups, item lookups and calls in one render
MAX_WIDTH = 100_000  # width/count arguments of padding and slicing helpers
MAX_EXPONENT = 10_000
MAX_INT_BITS = 65_536  # operands and results of integer arithmetic (about 19,700 decimal digits)
# Items and characters copied into new strings and lists in one render (`+`, `~`, `*`, `sum`): building a
# list by `ns.items = ns.items + [x]` in a loop copies quadratically even when the final list is small.
MAX_COPIED = 200_000_000
TIME_LIMIT_SECONDS = 10.0

_PERCENT_SPEC = re.compile(r"%[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_BRACE_SPEC = re.compile(r"\{[^{}]*?:([^{}]*)\}")
_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})
_WIDTH_FILTERS = ("center", "indent", "slice", "wordwrap", "batch")
_GROWING_METHODS = frozenset({"replace", "join", "format", "format_map"})


class RenderError(NodeFailure):
    """A template failed to render or evaluate; the reason is model-readable."""


class _Budget:
    def __init__(self) -> None:
        self.operations = 0
        self.range_items = 0
        self.copied = 0
        self.deadline = time.monotonic() + TIME_LIMIT_SECONDS

    def tick(self) -> None:
        self.operations += 1
        if self.operations > MAX_OPERATIONS:
            raise RenderError(f"template exceeded {MAX_OPERATIONS} operations; simplify its loops")
        if self.operations % 4096 == 0 and time.monotonic() > self.deadline:
            raise RenderError(f"template ran longer than {TIME_LIMIT_SECONDS:g} seconds")

    def take_range(self, items: int) -> None:
        self.range_items += items
        if self.range_items > MAX_RANGE_ITEMS:
            raise RenderError(f"template loops over more than {MAX_RANGE_ITEMS} range() items in total")

    def take_copy(self, items: int) -> None:
        self.copied += items
        if self.copied > MAX_COPIED:
            raise RenderError(f"template copied more than {MAX_COPIED} items or characters into new lists and "
                              "strings (growing a value by + in a loop copies it every time); build it with a "
                              "loop that outputs, join or map instead")


_BUDGET: ContextVar[_Budget | None] = ContextVar("workflows_render_budget", default=None)


@contextmanager
def render_budget() -> Iterator[None]:
    """Give the renders inside the block one fresh, shared resource budget."""
    token = _BUDGET.set(_Budget())
    try:
        yield
    finally:
        _BUDGET.reset(token)


def _tick() -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.tick()


def _copy(items: int) -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.take_copy(items)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_int_size(operator: str, *values: Any) -> None:
    for value in values:
        if _is_int(value) and value.bit_length() > MAX_INT_BITS:
            raise RenderError(f"a number in '{operator}' has more than {MAX_INT_BITS} bits; numbers that large are "
                              "not supported")


def _check_arithmetic(operator: str, left: Any, right: Any) -> None:
    """Refuse integer arithmetic whose operands or result would exceed MAX_INT_BITS, before it runs."""
    _check_int_size(operator, left, right)
    if not (_is_int(left) and _is_int(right)):
        return
    if operator == "*":
        bits = left.bit_length() + right.bit_length()
    elif operator == "**":
        bits = math.ceil(right * math.log2(abs(left))) if right > 0 and abs(left) > 1 else 0
    else:
        return
    if bits > MAX_INT_BITS:
        raise RenderError(f"the result of '{operator}' would have about {bits} bits, more than the limit of "
                          f"{MAX_INT_BITS}")


def _checked_sum(environment: Any, iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
    """The ``sum`` filter with its cost checked first.

    ``items|sum(start=[])`` means adding lists pairwise, which copies the growing list for every item:
    quadratic work in one C call that nothing can interrupt. That work is charged to the render's copy
    budget before anything runs (and, once allowed, the lists are concatenated in one linear pass).
    Numbers are checked against the integer size limit as they add up.
    """
    if attribute is not None:
        iterable = map(make_attrgetter(environment, attribute), iterable)
    items = list(islice(iterable, MAX_OUTPUT_CHARS + 1))
    if len(items) > MAX_OUTPUT_CHARS:
        raise RenderError(f"sum over more than {MAX_OUTPUT_CHARS} items")
    if isinstance(start, (list, tuple)):
        kind = type(start)
        if not all(isinstance(item, kind) for item in items):
            raise RenderError(f"sum with a {kind.__name__} start can only add {kind.__name__}s")
        size, pairwise = len(start), 0
        for item in items:
            size += len(item)
            pairwise += size
        _check_size("sum", size)
        if pairwise > MAX_COPIED:
            raise RenderError(f"sum of {len(items)} {kind.__name__}s would copy about {pairwise} items (each + copies "
                              f"everything so far), more than the limit of {MAX_COPIED}; use map, join or a loop")
        _copy(pairwise)
        return kind(chain(start, *items))
    total = start
    for item in items:
        _tick()
        _check_arithmetic("+", total, item)
        total = total + item
    return total


def _check_width(what: str, values: Any) -> None:
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_WIDTH:
            raise RenderError(f"{what}: argument {value} is larger than the limit of {MAX_WIDTH}")


def _check_format(fmt: str, args: Any) -> None:
    numbers: list[str] = []
    for width, precision in _PERCENT_SPEC.findall(fmt):
        numbers += [width, precision]
    for spec in _BRACE_SPEC.findall(fmt):
        numbers += re.findall(r"\d+", spec)
    _check_width("format", [int(n) for n in numbers if n.isdigit()])
    if "*" in fmt:
        _check_width("format", list(args) if isinstance(args, (tuple, list)) else [args])


def _bounded_range(*args: int) -> range:
    rng = range(*args)
    budget = _BUDGET.get()
    if budget is not None:
        budget.take_range(len(rng))
    elif len(rng) > MAX_RANGE_ITEMS:
        raise RenderError(f"range() of {len(rng)} items is larger than the limit of {MAX_RANGE_ITEMS}")
    return rng


class _BoundedNamespace(Namespace):
    def __setitem__(self, name: str, value: Any) -> None:
        if isinstance(value, (str, list, tuple)) and len(value) > MAX_OUTPUT_CHARS:
            raise RenderError(f"namespace value '{name}' grew past {MAX_OUTPUT_CHARS} items")
        super().__setitem__(name, value)


def _capped_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    skip = 2 if hasattr(func, "jinja_pass_arg") else 1  # (context/env,) value, then arguments

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _check_width(f"filter '{name}'", [*args[skip:], *kwargs.values()])
        return func(*args, **kwargs)

    wrapper.__name__ = getattr(func, "__name__", name)
    if hasattr(func, "jinja_pass_arg"):
        wrapper.jinja_pass_arg = func.jinja_pass_arg  # type: ignore[attr-defined]
    return wrapper


def _check_size(what: str, size: int) -> None:
    if size > MAX_OUTPUT_CHARS:
        raise RenderError(f"{what} would produce more than {MAX_OUTPUT_CHARS} characters")


def _longest(values: Any) -> int:
    return max((len(v) if isinstance(v, str) else len(str(v)) for v in values), default=0)


def _check_growth(name: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse, before it runs, a string operation whose result would outgrow the output limit.

    Each operation's own arguments are bounded, but its result can be their product:
    ``s.replace('a', s)``, ``s | join(s)``, ``'{0}{0}…'.format(s)`` or ``s | indent(width)``
    on many lines. The estimate is an upper bound computed from lengths and counts only.
    """
    if name == "replace" and isinstance(value, str) and len(args) >= 2 and all(isinstance(a, str) for a in args[:2]):
        old, new = args[0], args[1]
        hits = value.count(old) if old else len(value) + 1
        count = args[2] if len(args) > 2 else kwargs.get("count", -1)
        if isinstance(count, int) and count >= 0:
            hits = min(hits, count)
        _check_size("replace", len(value) + hits * max(0, len(new) - len(old)))
    elif name == "join" and isinstance(value, (str, list, tuple)):
        separator = args[0] if args else kwargs.get("d", "")
        items = list(value)
        _check_size("join", len(str(separator)) * max(0, len(items) - 1) + sum(len(str(i)) for i in items))
    elif name in ("format", "format_map") and isinstance(value, str):
        fields = value.count("{") + value.count("%")
        _check_size(name, len(value) + fields * _longest([*args, *kwargs.values()]))
    elif name == "indent" and isinstance(value, str):
        width = args[0] if args else kwargs.get("width", 4)
        pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
        _check_size("indent", len(value) + pad * (value.count("\n") + 1))
    elif name == "wordwrap" and isinstance(value, str):
        width = args[0] if args else kwargs.get("width", 79)
        wrap = args[2] if len(args) > 2 else kwargs.get("wrapstring") or "\n"
        lines = len(value) // max(1, width if isinstance(width, int) else 1) + 1
        _check_size("wordwrap", len(value) + lines * len(str(wrap)))


def _growing_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    skip = 1 if hasattr(func, "jinja_pass_arg") else 0

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _check_growth(name, args[skip], args[skip + 1:], kwargs)
        return func(*args, **kwargs)

    wrapper.__name__ = getattr(func, "__name__", name)
    if hasattr(func, "jinja_pass_arg"):
        wrapper.jinja_pass_arg = func.jinja_pass_arg  # type: ignore[attr-defined]
    return wrapper


def _format_filter(value: Any, *args: Any, **kwargs: Any) -> str:
    _check_format(str(value), args)
    _check_growth("format", str(value), args, kwargs)
    return str(value) % (kwargs or args)


class _CodeGenerator(CodeGenerator):
    """Compiles ``a ~ b ~ c`` to a size-checked join (Jinja's own join has no hook the sandbox sees)."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.checked_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _Environment(ImmutableSandboxedEnvironment):
    """Immutable sandbox with operation, size and time budgets."""

    # every arithmetic operator: the sandbox sees each one (and none is folded into a constant at compile time)
    intercepted_binops = frozenset({"*", "**", "+", "-", "/", "//", "%"})
    code_generator_class = _CodeGenerator

    def checked_concat(self, parts: tuple[Any, ...]) -> str:
        """``a ~ b``: the joined text, refused when it would outgrow the output limit."""
        _tick()
        texts = [str(part) for part in parts]
        size = sum(len(t) for t in texts)
        _check_size("concatenation (~)", size)
        _copy(size)
        return "".join(texts)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _tick()
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(count, int):
                    if len(seq) * count > MAX_OUTPUT_CHARS:
                        raise RenderError(f"repeating a sequence would exceed {MAX_OUTPUT_CHARS} items")
                    _copy(len(seq) * max(0, count))
        elif operator == "**":
            if isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT and abs(left) > 1:
                raise RenderError(f"exponent {right} is larger than the limit of {MAX_EXPONENT}")
        elif operator == "+":
            if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
                if len(left) + len(right) > MAX_OUTPUT_CHARS:
                    raise RenderError(f"concatenation would exceed {MAX_OUTPUT_CHARS} items")
                _copy(len(left) + len(right))
        elif operator == "%" and isinstance(left, str):
            _check_format(left, right)
            _check_growth("format", left, right if isinstance(right, tuple) else (right,), {})
        _check_arithmetic(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        # JSON data first: ``steps.each.items`` is the key "items", not dict.items
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
        return super().getitem(obj, argument)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _tick()
        owner = getattr(__obj, "__self__", None)
        if _is_int(owner) and getattr(__obj, "__name__", "") == "to_bytes":
            _check_width("int.to_bytes", [*args[:1], *kwargs.values()])
        if isinstance(owner, str) and getattr(__obj, "__name__", "") in _WIDTH_METHODS:
            _check_width(f"str.{__obj.__name__}", [*args, *kwargs.values()])
        if isinstance(owner, str) and getattr(__obj, "__name__", "") in _GROWING_METHODS:
            name = __obj.__name__
            if name == "join":  # separator.join(items): the items are the "value"
                _check_growth("join", args[0] if args else "", (owner,), {})
            else:
                _check_growth(name, owner, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt = str(value.__self__)

        def checked(*args: Any, **kwargs: Any) -> str:
            _check_format(fmt, args)
            _check_growth("format", fmt, args, kwargs)
            assert wrapped is not None
            return wrapped(*args, **kwargs)

        return checked


def _make_environment() -> _Environment:
    env = _Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.globals["range"] = _bounded_range
    del env.globals["lipsum"]  # lipsum(n=10**9) spins; nothing in an app needs placeholder text
    env.globals["namespace"] = _BoundedNamespace
    for name in _WIDTH_FILTERS:
        env.filters[name] = _capped_filter(name, env.filters[name])
    for name in ("replace", "join", "indent", "wordwrap"):
        env.filters[name] = _growing_filter(name, env.filters[name])
    env.filters["format"] = _format_filter
    env.filters["sum"] = pass_environment(_checked_sum)
    return env


environment = _make_environment()
