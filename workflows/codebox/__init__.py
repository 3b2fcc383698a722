"""Running a code step's Python or JavaScript in a fresh process confined by kernel limits and seccomp."""

from workflows.codebox.process import CodeCancelled, CodeFailed, CodeLimits, CodeOutcome, run_code

__all__ = ["CodeCancelled", "CodeFailed", "CodeLimits", "CodeOutcome", "run_code"]
