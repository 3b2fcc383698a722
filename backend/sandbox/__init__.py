"""Runs execute in supervised, resource-limited processes: no user-supplied text runs in a worker or API process."""

from backend.sandbox.limits import Limits
from backend.sandbox.pool import Hooks, Job, Outcome, SandboxPool, SpecSource, SubApp, SubAppNotFound

__all__ = ["Hooks", "Job", "Limits", "Outcome", "SandboxPool", "SpecSource", "SubApp", "SubAppNotFound"]
