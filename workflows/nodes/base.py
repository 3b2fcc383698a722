"""The node-type interface: a ``type`` key, a pydantic ``Config`` model and one ``run`` method."""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

__all__ = ["Node", "NodeConfig", "NodeContext"]


class NodeConfig(BaseModel):
    """Base of every node type's config model; unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


ConfigT = TypeVar("ConfigT", bound=NodeConfig)


@dataclass(frozen=True, slots=True)
class NodeContext:
    """What a running step can see: inputs, earlier step results and run metadata."""

    step_id: str
    inputs: Mapping[str, Any]
    steps: Mapping[str, Mapping[str, Any]]
    context: Mapping[str, Any] = field(default_factory=dict)

    def variables(self) -> dict[str, Any]:
        """Return the names templates see: ``inputs``, ``steps`` and ``context``."""
        return {"inputs": self.inputs, "steps": self.steps, "context": self.context}


class Node(ABC, Generic[ConfigT]):
    """A step type.

    Node types are data: the engine looks them up by ``type`` in the registry, validates a
    step's fields with ``Config``, checks the fields named in ``template_fields`` for
    references at load time, and calls ``run``. It never checks concrete classes, so a
    new node type is one module plus one registry entry. ``run`` signals an expected
    failure by raising ``NodeFailure`` with a reason a model can act on.
    """

    type: ClassVar[str]
    description: ClassVar[str]
    Config: ClassVar[builtins.type[NodeConfig]]
    template_fields: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def run(self, config: ConfigT, ctx: NodeContext) -> dict[str, Any]:
        """Run the step and return its result mapping (JSON-safe)."""
