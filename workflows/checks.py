"""Semantic checks of an app spec, each issue located by path (``inputs[1].default``)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import ValidationError

from workflows.content import content_output_issues
from workflows.errors import SpecIssue
from workflows.nodes import get_node_type, node_types
from workflows.prompts import prompt_issues
from workflows.resources import resource_issues
from workflows.schema import field_schema, type_definitions
from workflows.secret_flow import secret_flow_issues
from workflows.templating import check_template, is_single_expression

if TYPE_CHECKING:
    from workflows.spec import AppSpec, InputField, ItemSpec, StepSpec

__all__ = ["FORMATS", "NAME_PATTERN", "check_spec", "join_path"]

NAME_PATTERN = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,63}$")
TOOL_NAME_PATTERN = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]{0,63}$")
FORMATS = frozenset({
    "date-time", "date", "time", "duration", "email", "idn-email", "hostname", "idn-hostname",
    "ipv4", "ipv6", "uri", "uri-reference", "iri", "iri-reference", "uuid", "uri-template",
    "json-pointer", "relative-json-pointer", "regex",
})
_STRING = ("min_length", "max_length", "pattern", "format")
_NUMBER = ("minimum", "maximum", "exclusive_minimum", "exclusive_maximum", "multiple_of")
APPLICABLE: dict[str, tuple[str, ...]] = {
    "string": _STRING, "text": _STRING, "number": _NUMBER, "integer": _NUMBER, "boolean": (),
    "enum": ("values",), "array": ("items", "min_items", "max_items", "unique_items"),
    "object": ("properties",), "file": (),
}
_CONSTRAINTS = tuple(dict.fromkeys(c for group in APPLICABLE.values() for c in group))
# (lower, upper, may_be_equal)
_RANGES = (
    ("min_length", "max_length", True), ("min_items", "max_items", True),
    ("minimum", "maximum", True), ("exclusive_minimum", "exclusive_maximum", False),
    ("minimum", "exclusive_maximum", False), ("exclusive_minimum", "maximum", False),
)


def join_path(prefix: str, loc: Iterable[str | int]) -> str:
    """Join a path prefix and a location: ``("inputs", 1, "default")`` → ``inputs[1].default``."""
    path = prefix
    for part in loc:
        path = f"{path}[{part}]" if isinstance(part, int) else (f"{path}.{part}" if path else str(part))
    return path or "(root)"


def _named_type_issues(spec: ItemSpec, path: str, named: Mapping[str, ItemSpec]) -> list[SpecIssue]:
    if spec.type not in named:
        known = ", ".join(APPLICABLE) + (f"; the app's types: {', '.join(named)}" if named else "")
        return [SpecIssue(f"{path}.type", f"unknown type '{spec.type}' (known types: {known})")]
    return [
        SpecIssue(f"{path}.{name}", f"'{name}' does not apply here: a field of type '{spec.type}' takes its "
                  f"constraints from types.{spec.type}")
        for name in _CONSTRAINTS if getattr(spec, name) is not None
    ]


def _type_issues(spec: ItemSpec, path: str, named: Mapping[str, ItemSpec]) -> list[SpecIssue]:
    if spec.type not in APPLICABLE:
        return _named_type_issues(spec, path, named)
    issues: list[SpecIssue] = []
    allowed = APPLICABLE[spec.type]
    for name in _CONSTRAINTS:
        if getattr(spec, name) is not None and name not in allowed:
            hint = ", ".join(allowed) if allowed else "none"
            issues.append(SpecIssue(f"{path}.{name}", f"'{name}' does not apply to type '{spec.type}' "
                                    f"(constraints for {spec.type}: {hint})"))
    for low, high, may_equal in _RANGES:
        lo, hi = getattr(spec, low), getattr(spec, high)
        if lo is not None and hi is not None and (lo > hi or (lo == hi and not may_equal)):
            relation = "greater than" if lo > hi else "equal to"
            issues.append(SpecIssue(f"{path}.{low}", f"{low} ({lo}) is {relation} {high} ({hi})"))
    if spec.pattern is not None:
        try:
            re.compile(spec.pattern)
        except re.error as exc:
            issues.append(SpecIssue(f"{path}.pattern", f"invalid regular expression: {exc}"))
    if spec.format is not None and spec.format not in FORMATS:
        issues.append(SpecIssue(f"{path}.format", f"unknown format '{spec.format}'; "
                                f"known formats: {', '.join(sorted(FORMATS))}"))
    if spec.multiple_of is not None and spec.multiple_of <= 0:
        issues.append(SpecIssue(f"{path}.multiple_of", "multiple_of must be greater than 0"))
    if spec.type == "enum":
        if not spec.values:
            issues.append(SpecIssue(f"{path}.values", "an enum needs a non-empty list of values"))
        else:
            keys = [json.dumps(v, sort_keys=True) for v in spec.values]
            for index, key in enumerate(keys):
                if key in keys[:index]:
                    issues.append(SpecIssue(f"{path}.values[{index}]", f"duplicate enum value {key}"))
    if spec.items is not None:
        if spec.items.type == "file":
            issues.append(SpecIssue(f"{path}.items.type", "'file' is only allowed as a top-level input type"))
        issues += _type_issues(spec.items, f"{path}.items", named)
    if not issues:
        try:
            Draft202012Validator.check_schema(field_schema(spec))
        except SchemaError as exc:
            where = f"{path}.properties" if list(exc.path)[:1] == ["properties"] else path
            issues.append(SpecIssue(where, f"invalid JSON Schema: {exc.message}"))
    return issues


def _default_issues(field: InputField, path: str, spec: AppSpec) -> list[SpecIssue]:
    if field.default is None:
        return []
    if field.required:
        return [SpecIssue(f"{path}.default", "a required input never uses its default; "
                          "remove the default or set required: false")]
    schema = field_schema(field)
    if spec.types:
        schema["$defs"] = type_definitions(spec)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [
        SpecIssue(join_path(f"{path}.default", error.absolute_path), f"default {error.message}")
        for error in sorted(validator.iter_errors(field.default), key=lambda e: list(map(str, e.path)))
    ]


def _name_issues(names: Sequence[str], prefix: str, key: str, what: str) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    for index, name in enumerate(names):
        path = f"{prefix}[{index}].{key}"
        if not NAME_PATTERN.match(name):
            issues.append(SpecIssue(path, f"{what} '{name}' must start with a letter or underscore and "
                                    "contain only letters, digits and underscores (at most 64)"))
        elif name in names[:index]:
            issues.append(SpecIssue(path, f"duplicate {what} '{name}'"))
    return issues


_INPUT_REF = re.compile(r"^inputs\.([A-Za-z_][A-Za-z0-9_]*)$")


def _input_ref(source: Any) -> str | None:
    """Return ``x`` when ``source`` is exactly ``{{ inputs.x }}``."""
    if not isinstance(source, str) or not is_single_expression(source):
        return None
    match = _INPUT_REF.match(source.strip()[2:-2].strip("-+ "))
    return match.group(1) if match else None


class _Scope:
    """What the step checker carries down into nested step lists."""

    def __init__(self, spec: AppSpec) -> None:
        self.spec = spec
        self.inputs = {f.name: spec.types[f.type].type if f.type in spec.types else f.type for f in spec.inputs}
        self.seen: set[str] = set()
        self.fields: dict[str, Sequence[str] | None] = {}


def _step_list_issues(scope: _Scope, steps: Sequence[StepSpec], prefix: str, visible: list[str],
                      extra_names: tuple[str, ...], terminal_allowed: bool) -> list[SpecIssue]:
    ids = [step.id for step in steps]
    issues: list[SpecIssue] = []
    ended_by: str | None = None
    for index, step in enumerate(steps):
        path = f"{prefix}[{index}]"
        if not NAME_PATTERN.match(step.id):
            issues.append(SpecIssue(f"{path}.id", f"step id '{step.id}' must start with a letter or underscore "
                                    "and contain only letters, digits and underscores (at most 64)", step.id))
        elif step.id in scope.seen:
            issues.append(SpecIssue(f"{path}.id", f"duplicate step id '{step.id}'", step.id))
        scope.seen.add(step.id)
        if ended_by is not None:
            issues.append(SpecIssue(path, f"unreachable: step '{step.id}' comes after the output step "
                                    f"'{ended_by}', which ends the run", step.id))
        node_type = get_node_type(step.type)
        if node_type is None:
            issues.append(SpecIssue(f"{path}.type", f"unknown step type '{step.type}'; "
                                    f"known types: {', '.join(node_types())}", step.id))
            continue
        try:
            config = node_type.Config.model_validate(step.config)
        except ValidationError as exc:
            for err in exc.errors():
                message = {"missing": "field required", "extra_forbidden": "unknown field"}.get(
                    err["type"], err["msg"])
                issues.append(SpecIssue(join_path(path, err["loc"]), message, step.id))
            continue
        if prefix != "steps" and node_type.parks(config):
            issues.append(SpecIssue(f"{path}.type", f"a {step.type} step that asks the caller must be a top-level "
                                    "step (not inside a condition or map): the run stops there until the answer "
                                    "comes", step.id))
        if node_type.terminal and not terminal_allowed:
            issues.append(SpecIssue(f"{path}.type", "an output step cannot run inside a map item", step.id))
        earlier = [*visible, *ids[:index]]
        for where, source in node_type.templates(step.config):
            for problem in check_template(source, inputs=list(scope.inputs), earlier_steps=earlier,
                                          later_steps=ids[index + 1:], step_id=step.id,
                                          extra_names=extra_names, step_fields=scope.fields):
                issues.append(SpecIssue(f"{path}.{where}", problem, step.id))
        for ref in dict.fromkeys(node_type.referenced_steps(config)):
            if ref == step.id:
                issues.append(SpecIssue(path, f"step '{ref}' cannot refer to its own result", step.id))
            elif ref in ids[index + 1:]:
                issues.append(SpecIssue(path, f"step '{ref}' runs later; a step can only use earlier steps "
                                        f"({', '.join(earlier) or 'none'})", step.id))
            elif ref not in earlier:
                issues.append(SpecIssue(path, f"unknown step '{ref}'; earlier steps: "
                                        f"{', '.join(earlier) or 'none'}", step.id))
        for name, types in node_type.expected_types.items():
            ref = _input_ref(step.config.get(name))
            if ref is not None and ref in scope.inputs and scope.inputs[ref] not in types:
                issues.append(SpecIssue(f"{path}.{name}", f"input '{ref}' is of type {scope.inputs[ref]}, but "
                                        f"'{name}' needs {' or '.join(types)}", step.id))
        for where, message in node_type.check(config, scope.spec):
            issues.append(SpecIssue(f"{path}.{where}" if where else path, message, step.id))
        for child in node_type.children(config):
            issues += _step_list_issues(scope, child.steps, f"{path}.{child.path}", earlier,
                                        tuple(dict.fromkeys((*extra_names, *child.extra_names))),
                                        terminal_allowed and not child.extra_names)
        scope.fields[step.id] = node_type.result_fields
        if node_type.terminal:
            ended_by = step.id
    return issues


def _step_issues(spec: AppSpec, scope: _Scope) -> list[SpecIssue]:
    return _step_list_issues(scope, spec.steps, "steps", [], (), True)


def _types_issues(spec: AppSpec) -> list[SpecIssue]:
    """Named types: proper names, each built on a built-in type (not `file`, not another named type)."""
    issues: list[SpecIssue] = []
    for name, item in spec.types.items():
        path = f"types.{name}"
        if not NAME_PATTERN.match(name):
            issues.append(SpecIssue(path, f"type name '{name}' must start with a letter or underscore and contain "
                                    "only letters, digits and underscores (at most 64)"))
        elif name in APPLICABLE:
            issues.append(SpecIssue(path, f"'{name}' is a built-in type; name yours differently"))
        if item.type not in APPLICABLE:
            issues.append(SpecIssue(f"{path}.type", f"a named type is built on a built-in type "
                                    f"({', '.join(t for t in APPLICABLE if t != 'file')}), not '{item.type}'"))
        elif item.type == "file":
            issues.append(SpecIssue(f"{path}.type", "'file' is only allowed as a top-level input type"))
        else:
            issues += _type_issues(item, path, {})
    return issues


def check_spec(spec: AppSpec, *, stored: bool = False) -> list[SpecIssue]:
    """Return every semantic issue of a structurally valid spec (empty when it is valid).

    ``stored``: the spec was saved earlier, perhaps under older rules. The rules on where secrets may go are
    then left out, so an app saved before them still opens, lists and runs; its runs cannot read a secret
    outside a sink anyway (the engine withholds them), and it cannot be saved or published again until fixed.
    """
    issues: list[SpecIssue] = []
    if spec.tool_name is not None and not TOOL_NAME_PATTERN.match(spec.tool_name):
        issues.append(SpecIssue("tool_name", "tool_name must start with a letter and contain only "
                                "letters, digits, '_' and '-' (at most 64)"))
    issues += _types_issues(spec)
    input_names = [f.name for f in spec.inputs]
    issues += _name_issues(input_names, "inputs", "name", "input name")
    for index, field in enumerate(spec.inputs):
        type_issues = _type_issues(field, f"inputs[{index}]", spec.types)
        issues += type_issues or _default_issues(field, f"inputs[{index}]", spec)
    scope = _Scope(spec)
    issues += _step_issues(spec, scope)
    ids = [step.id for step in spec.steps]
    ends_with_output = any(getattr(get_node_type(s.type), "terminal", False) for s in spec.steps)
    issues += _name_issues([o.name for o in spec.outputs], "outputs", "name", "output name")
    issues += content_output_issues(spec)
    for index, out in enumerate(spec.outputs):
        if out.value is None:
            if not ends_with_output:
                issues.append(SpecIssue(f"outputs[{index}].value", "field required (no top-level output "
                                        "step sets this output)"))
            continue
        for problem in check_template(out.value, inputs=input_names, earlier_steps=ids,
                                      step_fields=scope.fields):
            issues.append(SpecIssue(f"outputs[{index}].value", problem))
    return issues + prompt_issues(spec) + resource_issues(spec) + ([] if stored else secret_flow_issues(spec))
