"""structlog set-up: JSON lines when stderr is not a terminal (production), readable
key=value lines when it is; the standard library's loggers (uvicorn, litestar) go through
the same processors, so every line has the same shape and the request id."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any, TextIO

import structlog
from structlog.types import EventDict, Processor

from .secrets import REDACTED

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
_SECRET_KEY = re.compile(
    r"(token|secret|password|passwd|api_?key|authorization|credential)s?$", re.I
)


def redact_secrets(_: Any, __: str, event: EventDict) -> EventDict:
    """A last line of defence: values under secret-looking keys never reach a log."""
    for key in event:
        if _SECRET_KEY.search(key) and event[key] is not None:
            event[key] = REDACTED
    return event


def configure_logging(level: str = "info", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Configure structlog and the standard library's logging; `stream` defaults to stderr."""
    out = stream or sys.stderr
    json_lines = fmt == "json" or (fmt == "auto" and not out.isatty())
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    numeric = _LEVELS.get(level, logging.INFO)
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "litestar", "httpx"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # our access log replaces uvicorn's; httpx logs every request at INFO
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
