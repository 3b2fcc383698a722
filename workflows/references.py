"""References inside step fields: resolving JSON trees of templates, and the secrets they may read.

One syntax everywhere: a string containing ``{{ … }}`` or ``{% … %}`` is a template over
``inputs``, ``steps``, ``secrets`` and ``context``. A string that is exactly one
``{{ expression }}`` keeps the JSON type of its value (a list stays a list, a number a
number); anything else renders to text. Dict keys are never templated.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from workflows.templating import evaluate

__all__ = ["MaskedSecrets", "Secrets", "WithheldSecrets", "is_template", "resolve", "template_strings"]


def is_template(value: Any) -> bool:
    """Tell whether a string holds template syntax."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def resolve(value: Any, variables: Mapping[str, Any]) -> Any:
    """Return ``value`` with every template string evaluated (recursively through lists and dicts)."""
    if isinstance(value, str):
        return evaluate(value, variables) if is_template(value) else value
    if isinstance(value, dict):
        return {key: resolve(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, variables) for item in value]
    return value


def template_strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Yield ``(path, template)`` for every template string inside a JSON tree."""
    if isinstance(value, str):
        if is_template(value):
            yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from template_strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from template_strings(item, f"{path}[{index}]")


class Secrets(dict[str, Any]):
    """The ``secrets`` templates see; a missing name fails with a clear reason (not an empty string)."""

    def __missing__(self, key: str) -> Any:
        from workflows.sandbox import RenderError  # noqa: PLC0415 - sandbox imports nothing of this module

        raise RenderError(f"secret '{key}' is not set; add it to the owner's secrets")


class MaskedSecrets(dict[str, Any]):
    """Stands in for the secrets when a step's input is rendered for the trace: ``[secret NAME]`` for each."""

    def __missing__(self, key: str) -> str:
        return f"[secret {key}]"


class WithheldSecrets(dict[str, Any]):
    """The ``secrets`` every template outside a sink sees: reading one fails (the spec checks refuse such reads
    when a spec is saved; this keeps a spec stored before that rule from reading one at run time)."""

    def __missing__(self, key: str) -> Any:
        from workflows.sandbox import RenderError  # noqa: PLC0415 - sandbox imports nothing of this module

        raise RenderError(f"secret '{key}' can only be sent to the outside (an HTTP request or a model's key), "
                          "not used here")
