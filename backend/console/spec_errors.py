"""Spec problems in the builder's words: `steps[1].fields` becomes "Step 2 (stats) › Fields", and pydantic's
"Value error, " prefix goes, so the console never shows an internal path or a library's phrasing."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["readable_errors", "where"]

_PART = re.compile(r"([^.\[\]]+)((?:\[\d+\])*)")
_ITEMS = {"steps": "Step", "inputs": "Input", "outputs": "Output", "branches": "Branch", "else": "Else step"}
_LABELS = {"(root)": "App", "tool_name": "Tool name", "else": "Else"}


def _label(key: str) -> str:
    return _LABELS.get(key) or key.replace("_", " ").capitalize()


def _named(item: Any) -> str:
    if isinstance(item, dict):
        name = item.get("id") or item.get("name")
        if isinstance(name, str) and name:
            return f" ({name})"
    return ""


def where(path: str | None, spec: Any = None) -> str:
    """Where a problem is, as the form names it (`Step 2 (stats) › Fields`), from its spec path."""
    if not path or path == "(root)":
        return "App"
    parts: list[str] = []
    node: Any = spec
    for key, indexes in _PART.findall(path):
        node = node.get(key) if isinstance(node, dict) else None
        numbers = [int(n) for n in re.findall(r"\d+", indexes)]
        if not numbers:
            parts.append(_label(key))
            continue
        for number in numbers:
            node = node[number] if isinstance(node, list) and number < len(node) else None
            noun = _ITEMS.get(key) or f"{_label(key)} item"
            parts.append(f"{noun} {number + 1}{_named(node)}")
    return " › ".join(parts) or path


def readable_errors(errors: list[dict[str, Any]], spec: Any = None) -> list[dict[str, Any]]:
    """The errors with a `where` for people (the `path` stays, to place each one by its field)."""
    return [{**error, "where": where(error.get("path"), spec),
             "message": re.sub(r"^(Value|Assertion) error, ", "", str(error.get("message", "")))} for error in errors]
