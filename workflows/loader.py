"""Parse, validate and serialise app specs (YAML or JSON text, or plain dicts)."""

from __future__ import annotations

import json
import math
from typing import Any

import yaml
from pydantic import ValidationError

from workflows.checks import join_path
from workflows.errors import SpecError, SpecIssue
from workflows.spec import STORED, AppSpec, SpecIssuesError

__all__ = ["MAX_SPEC_BYTES", "dump_spec", "load_spec", "load_value", "spec_from_dict", "spec_to_dict"]

MAX_SPEC_BYTES = 1_048_576
MAX_ALIASES = 100
MAX_NODES = 100_000  # YAML nodes after alias expansion
MAX_DEPTH = 64
_DOC = "(document)"


class _Refused(Exception):
    pass


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses documents with too many aliases (alias bombs) or too deep a nesting.

    The depth check stops ``[[[[…`` at the limit, before PyYAML's recursive composer (and its
    scanner, whose work grows with the nesting) spend seconds reaching Python's recursion limit.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.alias_count = 0
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self.alias_count += 1
            if self.alias_count > MAX_ALIASES:
                raise _Refused(f"the document uses more than {MAX_ALIASES} YAML aliases")
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _Refused(f"the document is nested deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    key = id(node)
    if key in sizes:
        if sizes[key] < 0:
            raise _Refused("the document contains a recursive YAML alias")
        return sizes[key]
    sizes[key] = -1
    total = 1
    if isinstance(node, yaml.SequenceNode):
        total += sum(_expanded_size(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total += sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
    if total > MAX_NODES:
        raise _Refused(f"the document expands to more than {MAX_NODES} YAML nodes (alias bomb?)")
    sizes[key] = total
    return total


def _parse_yaml(text: str) -> Any:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, {})
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _parse(text: str) -> Any:
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass  # maybe a YAML flow mapping; YAML reports the error if not
    try:
        return _parse_yaml(text)
    except _Refused as exc:
        raise SpecError([SpecIssue(_DOC, str(exc))]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError([SpecIssue(_DOC, f"YAML syntax error{where}: {problem}")]) from None
    except yaml.YAMLError as exc:
        raise SpecError([SpecIssue(_DOC, f"YAML error: {exc}")]) from None
    except RecursionError:
        raise SpecError([SpecIssue(_DOC, "the document is nested too deeply")]) from None


def _json_issues(value: Any, path: str, depth: int = 0) -> list[SpecIssue]:
    if depth > MAX_DEPTH:
        return [SpecIssue(path or _DOC, f"nested deeper than {MAX_DEPTH} levels")]
    if isinstance(value, dict):
        issues: list[SpecIssue] = []
        for key, item in value.items():
            if not isinstance(key, str):
                issues.append(SpecIssue(join_path(path, []), f"key {key!r} must be a string; quote it"))
            else:
                issues += _json_issues(item, join_path(path, [key]), depth + 1)
        return issues
    if isinstance(value, list):
        return [i for n, item in enumerate(value) for i in _json_issues(item, join_path(path, [n]), depth + 1)]
    if isinstance(value, float) and not math.isfinite(value):
        return [SpecIssue(path, "NaN and infinity are not valid JSON numbers")]
    if value is None or isinstance(value, (str, int, float, bool)):
        return []
    return [SpecIssue(path, f"a {type(value).__name__} value is not valid JSON; quote it to make it a string")]


def _step_id(data: dict[str, Any], loc: tuple[Any, ...]) -> str | None:
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        steps = data.get("steps")
        if isinstance(steps, list) and loc[1] < len(steps) and isinstance(steps[loc[1]], dict):
            step_id = steps[loc[1]].get("id")
            return step_id if isinstance(step_id, str) else None
    return None


def _pydantic_issues(exc: ValidationError, data: dict[str, Any]) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    for err in exc.errors():
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, SpecIssuesError):
            issues += cause.issues
            continue
        loc = tuple(err["loc"])
        message = {"missing": "field required", "extra_forbidden": "unknown field"}.get(err["type"], err["msg"])
        if err["type"] == "value_error" and cause is not None:
            message = str(cause)
        issues.append(SpecIssue(join_path("", loc), message, _step_id(data, loc)))
    return list(dict.fromkeys(issues))


def spec_from_dict(data: Any, *, stored: bool = False) -> AppSpec:
    """Validate a parsed spec mapping and return the AppSpec; raise SpecError listing every issue.

    ``stored``: the mapping was saved earlier (by an older version of the rules, perhaps): the rules on where
    secrets may go are not applied, so the app still loads; saving or publishing it checks them again.
    """
    if not isinstance(data, dict):
        kind = "empty document" if data is None else type(data).__name__
        raise SpecError([SpecIssue(_DOC, f"the spec must be a mapping of fields (got {kind})")])
    issues = _json_issues(data, "")
    if issues:
        raise SpecError(issues)
    try:
        return AppSpec.model_validate(data, context={STORED: True} if stored else None)
    except ValidationError as exc:
        raise SpecError(_pydantic_issues(exc, data)) from None


def load_value(text: str) -> Any:
    """Parse one YAML or JSON value (a spec field typed as text, e.g. a mapping) with the same guards as a spec."""
    if len(text.encode("utf-8", errors="replace")) > MAX_SPEC_BYTES:
        raise SpecError([SpecIssue(_DOC, f"the value is larger than {MAX_SPEC_BYTES} bytes")])
    return _parse(text)


def load_spec(text: str) -> AppSpec:
    """Parse YAML or JSON text into a validated AppSpec; raise SpecError listing every issue."""
    if len(text.encode("utf-8", errors="replace")) > MAX_SPEC_BYTES:
        raise SpecError([SpecIssue(_DOC, f"the spec is larger than {MAX_SPEC_BYTES} bytes")])
    return spec_from_dict(_parse(text))


def spec_to_dict(spec: AppSpec) -> dict[str, Any]:
    """Return the spec as a JSON-safe dict without None fields."""
    data: dict[str, Any] = spec.model_dump(mode="json", exclude_none=True)
    return data


class _Dumper(yaml.SafeDumper):
    pass


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_spec(spec: AppSpec) -> str:
    """Return the spec as YAML in field order, omitting unset and default fields."""
    data = spec.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
