"""References inside step fields: resolving JSON trees of templates and redacting secrets.

One syntax everywhere: a string containing ``{{ … }}`` or ``{% … %}`` is a template over
``inputs``, ``steps``, ``secrets`` and ``context``. A string that is exactly one
``{{ expression }}`` keeps the JSON type of its value (a list stays a list, a number a
number); anything else renders to text. Dict keys are never templated.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from workflows.templating import evaluate

__all__ = ["REDACTED", "Redactor", "Secrets", "is_template", "resolve", "template_strings"]

REDACTED = "[redacted]"
MIN_SECRET_CHARS = 4  # shorter values would blank out ordinary words; document, don't redact


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


class Redactor:
    """Replaces every secret value (at least 4 characters) with ``[redacted]`` in text and JSON trees.

    Applied to everything a run reports (trace inputs and outputs, errors, progress
    messages, final outputs). It catches the secret verbatim, not transformed copies
    (base64, reversed); node types that send secrets put them in headers, not results.
    """

    def __init__(self, secrets: Mapping[str, Any] | None = None) -> None:
        values = {str(v) for v in (secrets or {}).values() if v is not None}
        self._values = sorted((v for v in values if len(v) >= MIN_SECRET_CHARS), key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self._values)

    def text(self, text: str) -> str:
        """Return ``text`` with secrets replaced."""
        for secret in self._values:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def tree(self, value: Any) -> Any:
        """Return a copy of a JSON tree with secrets replaced in every string (keys included)."""
        if not self._values:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.tree(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.tree(v) for v in value]
        return value
