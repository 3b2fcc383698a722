"""Logging setup whose every line is scrubbed of URL secrets and bearer tokens."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone

_SECRET_PATTERNS = [
    (re.compile(r"(/(?:mcp|sse)/)(?!e/|platform\b)[A-Za-z0-9_\-]{16,}"), r"\1[redacted]"),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-\.=]{8,}"), r"\1[redacted]"),
    # MCP access tokens, API tokens and console sessions wherever they appear
    (re.compile(r"(tp[kus]_)[A-Za-z0-9_\-]{8,}"), r"\1[redacted]"),
    (re.compile(r"(?i)((?:secret|token|password)=)[^&\s\"']+"), r"\1[redacted]"),
]


def redact(text: str) -> str:
    """Replace secrets in a piece of text."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message with secrets removed."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(record.msg, str) and isinstance(args, tuple) and all(
            a is None or isinstance(a, (str, int, float)) for a in args
        ):
            # plain arguments are scrubbed in place, so formatters that read `args` (uvicorn's access log) still work
            record.msg = redact(record.msg)
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in args)
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not kill logging
            return True
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Extra record attributes copied into JSON lines when present (e.g. the per-call line's fields).
_JSON_EXTRAS = ("run_id", "app_id", "status", "duration_ms", "task_id")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, known extras, and a redacted traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key in _JSON_EXTRAS:
            if key in record.__dict__:
                entry[key] = record.__dict__[key]
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exc"] = redact(record.exc_text)
        return json.dumps(entry, default=str, ensure_ascii=False)


def _log_format(fmt: str | None) -> str:
    if fmt:
        return fmt
    try:
        from backend.core.settings import get_settings

        return get_settings().log_format
    except Exception:  # invalid settings are reported by the caller; log plainly meanwhile
        return "text"


def _formatter(fmt: str | None) -> logging.Formatter:
    return JsonFormatter() if _log_format(fmt) == "json" else logging.Formatter(_FORMAT)


def configure_logging(level: str = "INFO", fmt: str | None = None) -> None:
    """Install one stderr handler with the redacting filter on the root and uvicorn loggers.

    `fmt` is "text" or "json"; by default TOOLPRESS_LOG_FORMAT decides.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_formatter(fmt))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "celery", "celery.worker"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True


def uvicorn_log_config(level: str = "INFO", fmt: str | None = None) -> dict:
    """A uvicorn `log_config` that routes access and error logs through the redacting filter."""
    formatter: dict[str, object] = {"()": JsonFormatter} if _log_format(fmt) == "json" else {"format": _FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactingFilter}},
        "formatters": {"plain": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "plain",
                "filters": ["redact"],
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True, "level": level},
            "uvicorn.error": {"handlers": [], "propagate": True, "level": level},
            "uvicorn.access": {"handlers": [], "propagate": True, "level": level},
        },
    }
