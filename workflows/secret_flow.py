"""Where secrets may go: only into the fields that talk to the outside, never into a result, an output or the trace.

A secret is useful in exactly one kind of place: a request to another system (an HTTP request's URL, query,
headers or body; a model provider's key). Every such field is a *sink*, declared by its node type
(``Node.secret_sinks``). Anywhere else a secret would end up in something the caller sees: a template's
text, a transform's value, a condition's branch, a map's items, a sub-app's inputs, an output. Those uses
are refused when the spec is saved, whatever filter, slice or expression wraps the secret (``|upper``,
``|reverse``, ``[::-1]``, ``== inputs.x``), because a checker cannot tell a harmless transformation from a
leak, and a condition that compares a secret leaks it one bit per call.

Inside a sink a secret must be named (``secrets.NAME``): a computed name (``secrets[inputs.which]``) or the
whole mapping would let the caller choose what is sent. A step that sends a secret must also fix where it
goes: its URL (``Node.secret_destination``) names the host in plain text or comes from a secret, so no
input or earlier result can point the request, and the secret in it, at another server.

At run time ``sent_secrets`` tells the engine which secrets a step sends, so it can show them masked in
the trace and scrub them from what that step gets back (see ``workflows.engine``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

from jinja2 import TemplateSyntaxError, nodes

from workflows.errors import SpecIssue
from workflows.templating import template_ast

if TYPE_CHECKING:
    from workflows.nodes.base import Node
    from workflows.spec import AppSpec, StepSpec

__all__ = ["REDACTED", "Redactor", "field_of", "secret_flow_issues", "sent_secrets", "uses_secrets"]

ROOT = "secrets"
REDACTED = "[redacted]"
_TRUSTED_ROOTS = {ROOT, "context"}  # what the owner and the host set, never the caller
MIN_SECRET_CHARS = 4  # shorter values would blank out ordinary words
_FIXED_HOST = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#@{}\s]+[/?#]")  # scheme://host then a path


@dataclass(frozen=True, slots=True)
class _Uses:
    """How one template reads ``secrets``: the names it reads, and its reads that name no secret."""

    names: frozenset[str]
    unnamed: tuple[str, ...]  # e.g. "secrets[inputs.which]", "secrets.items()", "secrets"


def _named(parent: nodes.Node | None) -> str | None:
    """The secret a ``secrets`` node's parent reads (``secrets.NAME`` / ``secrets['NAME']``), else None."""
    if isinstance(parent, nodes.Getattr):
        name = parent.attr
    elif isinstance(parent, nodes.Getitem) and isinstance(parent.arg, nodes.Const) and isinstance(parent.arg.value, str):
        name = parent.arg.value
    else:
        return None
    return None if hasattr(dict, name) else name  # secrets.items / secrets.get would read the whole mapping


def _describe(parent: nodes.Node | None) -> str:
    if isinstance(parent, nodes.Getattr):
        return f"secrets.{parent.attr}"
    if isinstance(parent, nodes.Getitem):
        return "secrets[…]"
    return "secrets"


@lru_cache(maxsize=2048)
def _uses(source: str) -> _Uses:
    try:
        ast = template_ast(source)
    except TemplateSyntaxError:
        return _Uses(frozenset(), ())  # reported by the template checks
    parents: dict[int, nodes.Node] = {}
    for node in ast.find_all(nodes.Node):
        for child in node.iter_child_nodes():
            parents[id(child)] = node
    names: set[str] = set()
    unnamed: list[str] = []
    for node in ast.find_all(nodes.Name):
        if node.name != ROOT:
            continue
        parent = parents.get(id(node))
        name = _named(parent)
        if name is None:
            unnamed.append(_describe(parent))
        else:
            names.add(name)
    return _Uses(frozenset(names), tuple(dict.fromkeys(unnamed)))


def uses_secrets(source: str) -> bool:
    """Tell whether a template reads ``secrets`` at all."""
    uses = _uses(source)
    return bool(uses.names or uses.unnamed)


def field_of(path: str) -> str:
    """The top-level config field of a template's path (``headers.Authorization`` → ``headers``)."""
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def sent_secrets(node_type: type[Node[Any]], raw: Mapping[str, Any]) -> frozenset[str]:
    """The names of the secrets a step sends (read in its sink fields)."""
    found: set[str] = set()
    for path, source in node_type.templates(raw):
        if field_of(path) in node_type.secret_sinks:
            found |= _uses(source).names
    return frozenset(found)


class Redactor:
    """Replaces the values of the secrets a step sent, as written and URL- or JSON-encoded, with ``[redacted]``.

    Applied only to what that step got back (its result and its error): a service that echoes a key must not
    hand it to the caller. Nothing else is scrubbed by value, since a caller could send a guess, see it come
    back as ``[redacted]`` and so test guesses against a secret; secrets never reach other places at all.
    """

    def __init__(self, values: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for value in values:
            if len(value) >= MIN_SECRET_CHARS:
                forms |= {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
        self._values = sorted(forms, key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self._values)

    def text(self, text: str) -> str:
        """Return ``text`` with the secrets replaced."""
        for secret in self._values:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def tree(self, value: Any) -> Any:
        """Return a copy of a JSON tree with the secrets replaced in every string (keys included)."""
        if not self._values:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.tree(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.tree(v) for v in value]
        return value


def _sinks_text() -> str:
    from workflows.nodes import REGISTRY  # noqa: PLC0415 - the registry imports this module's users

    parts = [f"{key} {', '.join(node.secret_sinks)}" for key, node in sorted(REGISTRY.items()) if node.secret_sinks]
    return "; ".join(parts)


def _refusal(place: str, read: str) -> str:
    return (f"{place} uses {read}: a secret may only be sent to the outside ({_sinks_text()}), never into a "
            "step's result, an app output or the trace")


def _reads(uses: _Uses) -> list[str]:
    return [f"secrets.{name}" for name in sorted(uses.names)] + list(uses.unnamed)


def _destination_fixed(source: str) -> bool:
    """Whether a URL template names its host in plain text, or starts with a value the owner or the host set
    (a secret or the run's context) followed by a path."""
    try:
        body = template_ast(source).body
    except TemplateSyntaxError:
        return True  # reported by the template checks
    pieces = [piece for node in body for piece in (node.nodes if isinstance(node, nodes.Output) else [node])]
    literal = ""
    for index, piece in enumerate(pieces):
        if isinstance(piece, nodes.TemplateData):
            literal += piece.data
            continue
        if _FIXED_HOST.match(literal):
            return True
        trusted = isinstance(piece, nodes.Expr) and {n.name for n in piece.find_all(nodes.Name)} <= _TRUSTED_ROOTS
        if literal or not trusted:
            return False
        after = pieces[index + 1] if index + 1 < len(pieces) else None
        return after is None or (isinstance(after, nodes.TemplateData) and after.data.startswith("/"))
    return True


def _step_issues(step: StepSpec, node_type: type[Node[Any]], path: str) -> Iterator[SpecIssue]:
    sends = False
    for where, source in node_type.templates(step.config):
        uses = _uses(source)
        if not (uses.names or uses.unnamed):
            continue
        place = f"step '{step.id}' › {where}"
        if field_of(where) not in node_type.secret_sinks:
            for read in _reads(uses):
                yield SpecIssue(f"{path}.{where}", _refusal(place, read), step.id)
            continue
        sends = True
        for read in uses.unnamed:
            yield SpecIssue(f"{path}.{where}", f"{place} reads {read}: name the secret it sends (secrets.NAME); a "
                            "computed name or the whole mapping would let a caller choose what is sent", step.id)
    target = node_type.secret_destination
    if sends and target is not None and isinstance(step.config.get(target), str) \
            and not _destination_fixed(step.config[target]):
        yield SpecIssue(f"{path}.{target}", f"step '{step.id}' sends a secret, so its {target} must name its host in "
                        "plain text (https://api.example.com/…) or start with a secret followed by a path; a host "
                        "taken from inputs, items or earlier steps could send the secret to any server", step.id)


def _walk(steps: list[StepSpec], prefix: str) -> Iterator[SpecIssue]:
    from workflows.nodes import get_node_type  # noqa: PLC0415 - the registry imports this module's users

    for index, step in enumerate(steps):
        node_type = get_node_type(step.type)
        if node_type is None:
            continue
        path = f"{prefix}[{index}]"
        yield from _step_issues(step, node_type, path)
        try:
            config = node_type.Config.model_validate(step.config)
        except ValueError:
            continue  # reported by the config checks
        for child in node_type.children(config):
            yield from _walk(list(child.steps), f"{path}.{child.path}")


def reads_secrets(spec: AppSpec) -> bool:
    """Whether a run of ``spec`` may read its owner's secrets: a step's template names ``secrets`` (in any
    field, at any depth), or a step calls another app (which runs with the calling run's secrets).

    A host may skip loading the secrets when this says no; it errs towards yes (a step it cannot read counts).
    """
    return _steps_read(spec.steps)


def _steps_read(steps: list[StepSpec]) -> bool:
    from workflows.nodes import get_node_type  # noqa: PLC0415 - the registry imports this module's users

    for step in steps:
        node_type = get_node_type(step.type)
        if node_type is None or step.type == "sub_app":
            return True
        if any(uses_secrets(source) for _, source in node_type.templates(step.config)):
            return True
        try:
            config = node_type.Config.model_validate(step.config)
        except ValueError:
            return True
        if any(_steps_read(list(child.steps)) for child in node_type.children(config)):
            return True
    return False


def secret_flow_issues(spec: AppSpec) -> list[SpecIssue]:
    """Every place a spec would route a secret somewhere other than a sink, each naming its step and field."""
    issues = list(_walk(spec.steps, "steps"))
    for index, out in enumerate(spec.outputs):
        if out.value is None:
            continue
        for read in _reads(_uses(out.value)):
            issues.append(SpecIssue(f"outputs[{index}].value", _refusal(f"output '{out.name}'", read)))
    return issues
