"""What one run may use, and how a run that went over is described."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Limits:
    """CPU time, memory and wall-clock time of one run (the process executing it is stopped beyond them)."""

    cpu_seconds: float
    memory_mb: int
    wall_seconds: float

    def narrowed(
        self, *, cpu_seconds: float | None = None, memory_mb: int | None = None, wall_seconds: float | None = None
    ) -> Limits:
        """These limits, lowered where a smaller value is given (an app may ask for less, never for more)."""
        return replace(
            self,
            cpu_seconds=min(self.cpu_seconds, cpu_seconds or self.cpu_seconds),
            memory_mb=min(self.memory_mb, memory_mb or self.memory_mb),
            wall_seconds=min(self.wall_seconds, wall_seconds or self.wall_seconds),
        )

    def exceeded(self, limit: str) -> str:
        """The error of a run stopped by `limit` (memory, cpu or wall), naming the limit."""
        if limit == "memory":
            return f"the run used more than {self.memory_mb} MB of memory and was stopped"
        if limit == "cpu":
            return f"the run used more than {self.cpu_seconds:g} s of CPU time and was stopped"
        return f"the run took longer than {self.wall_seconds:g} s and was stopped"
