"""Structured JSON log lines: one object per line, which CloudWatch Logs Insights
queries by field (cluster, service, task_arn, request_id, deployment_id)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

# Fields a call site may add with `extra=`; only these reach the line.
CONTEXT_FIELDS = ("cluster", "service", "task_arn", "request_id", "deployment_id", "reason", "error")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "timestamp": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "message": record.getMessage(),
            "function": record.funcName,
            "line": record.lineno,
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        return json.dumps(line, default=str, separators=(",", ":"))


class StdoutHandler(logging.Handler):
    """Writes to whatever sys.stdout is at the time (Lambda's, or a test's capture)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record) + "\n")
            sys.stdout.flush()
        except Exception:  # a log line must never fail the invocation
            self.handleError(record)


def handler_logger(level: int) -> logging.Logger:
    """The package's logger, writing JSON to stdout at `level`.

    Lambda's Python runtime puts its own plain-text handler on the root logger;
    not propagating keeps each line JSON and written once.
    """
    logger = logging.getLogger("ecs_spot_handler")
    logger.propagate = False
    logger.setLevel(level)
    if not logger.handlers:
        stdout = StdoutHandler()
        stdout.setFormatter(JsonFormatter())
        logger.addHandler(stdout)
    return logger
