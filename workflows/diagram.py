"""The picture of an app: inputs → steps → outputs, laid out from its spec for a server-drawn SVG.

A vertical flow reads the way a run goes (top to bottom) and stays legible at a phone's width: a condition's
branches and a map's body are indented under their step, each branch headed by its `when`, and a sub-app call
names the app it calls. Each step box carries the key its trace entries use (`parent`, `step_id`), so a page can
colour it by state while a run goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workflows.spec import AppSpec

__all__ = ["Diagram", "DiagramBox", "diagram_of"]

WIDTH = 360
BOX_HEIGHT = 40
GAP = 16
INDENT = 24
LABEL_HEIGHT = 18


@dataclass(frozen=True)
class DiagramBox:
    """One box: the inputs, a step, a branch heading or the outputs, at (x, y) with its size."""

    kind: str  # "inputs", "step", "branch", "outputs"
    title: str
    detail: str
    x: int
    y: int
    width: int
    height: int
    step_id: str | None = None  # steps only
    parent: str | None = None  # the containing condition or map step, as in the trace
    top_step: str | None = None  # the top-level step this box belongs to (its form in the editor)

    @property
    def anchor(self) -> str:
        """The id of the box's entry in a run's trace table (`trace-<parent>-<step>`; a map body's `<map>-each`)."""
        parent = (self.parent or "").replace("[]", "-each")
        return f"trace-{parent}-{self.step_id}" if parent else f"trace-{self.step_id}"


@dataclass
class Diagram:
    """Boxes in drawing order and the arrows between them (pairs of box indexes)."""

    boxes: list[DiagramBox] = field(default_factory=list)
    arrows: list[tuple[int, int]] = field(default_factory=list)

    @property
    def height(self) -> int:
        """The drawing's height."""
        return max((box.y + box.height for box in self.boxes), default=0) + GAP // 2

    @property
    def width(self) -> int:
        """The drawing's width."""
        return WIDTH


def _short(text: str, limit: int = 42) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _step_detail(step: dict[str, Any]) -> str:
    config = step.get("config", step)
    if step["type"] == "sub_app":
        return f"calls app {config.get('app', '?')}"
    if step["type"] == "map":
        return f"for each of {_short(str(config.get('items', '')), 30)}"
    return step["type"]


class _Layout:
    def __init__(self) -> None:
        self.diagram = Diagram()
        self.y = GAP // 2

    def add(self, box_kind: str, title: str, detail: str, depth: int, **keys: Any) -> int:
        x = GAP // 2 + depth * INDENT
        height = LABEL_HEIGHT + 6 if box_kind == "branch" else BOX_HEIGHT
        self.diagram.boxes.append(DiagramBox(box_kind, _short(title), _short(detail), x, self.y, WIDTH - GAP - x + GAP // 2 - 4,
                                             height, **keys))
        self.y += height + GAP
        return len(self.diagram.boxes) - 1

    def steps(self, steps: list[Any], depth: int, parent: str | None, top: str | None, before: int) -> int:
        """Lay out a list of steps after box `before`; return the last box of the chain."""
        last = before
        for raw in steps:
            step = raw if isinstance(raw, dict) else raw.model_dump(by_alias=True)
            flat = {**step.get("config", {}), **{k: v for k, v in step.items() if k != "config"}}
            own_top = top or flat["id"]
            index = self.add("step", flat.get("title") or flat["id"], _step_detail(flat), depth, step_id=flat["id"],
                             parent=parent, top_step=own_top)
            self.diagram.arrows.append((last, index))
            if flat["type"] == "condition":
                branches = [(f"when {b.get('when', '')}", b.get("steps") or []) for b in flat.get("branches") or []]
                if flat.get("else") is not None:
                    branches.append(("else", flat.get("else") or []))
                for heading, body in branches:
                    head = self.add("branch", heading, "", depth + 1, top_step=own_top)
                    self.diagram.arrows.append((index, head))
                    self.steps(body, depth + 1, flat["id"], own_top, head)
            elif flat["type"] == "map":
                head = self.add("branch", "each item", "", depth + 1, top_step=own_top)
                self.diagram.arrows.append((index, head))
                self.steps(flat.get("steps") or [], depth + 1, f"{flat['id']}[]", own_top, head)
            last = index
        return last


def diagram_of(spec: AppSpec) -> Diagram:
    """The diagram of an app spec."""
    layout = _Layout()
    names = ", ".join(f.name for f in spec.inputs) or "none"
    first = layout.add("inputs", "Inputs", names, 0)
    last = layout.steps(list(spec.steps), 0, None, None, first)
    outputs = layout.add("outputs", "Outputs", ", ".join(o.name for o in spec.outputs) or "none", 0)
    layout.diagram.arrows.append((last, outputs))
    return layout.diagram
