"""structlog set-up: JSON lines when stderr is not a terminal (production), readable
key=value lines when it is; the standard library's loggers (uvicorn, litestar) go through
the same processors, so every line has the same shape and the request id.

Plugins observe records through `observe_logs(listener)`: one processor in the shared
chain (`LOG_TAP`) hands each record, after redaction and before rendering, to whoever
subscribed, so a plugin can stream the log without replacing the renderer."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

import msgspec
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


@functools.lru_cache(maxsize=4096)  # keys come from code, a few dozen in all
def _is_secret_key(key: str) -> bool:
    return _SECRET_KEY.search(key) is not None


def redact_secrets(_: Any, __: str, event: EventDict) -> EventDict:
    """A last line of defence: values under secret-looking keys never reach a log."""
    for key in event:
        if _is_secret_key(key) and event[key] is not None:
            event[key] = REDACTED
    return event


class IsoTimestamp:
    """`timestamp` as structlog's `TimeStamper(fmt="iso", utc=True)` writes it
    (`2026-12-06T03:28:02.703871Z`), formatting the date and time once a second rather
    than on every record."""

    def __init__(self) -> None:
        self._second: tuple[int, str] = (-1, "")

    def __call__(self, _: Any, __: str, event: EventDict) -> EventDict:
        now = time.time()
        whole = int(now)
        second, prefix = self._second
        if whole != second:
            prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
            self._second = (whole, prefix)  # one assignment: safe across threads
        event["timestamp"] = f"{prefix}.{int((now - whole) * 1_000_000):06d}Z"
        return event


_JSON = msgspec.json.Encoder(enc_hook=repr)  # what it cannot encode, it logs as repr()


def render_json(_: Any, __: str, event: EventDict) -> str:
    """One JSON object per line, by msgspec: a tenth of the standard library's cost, on a
    path every request takes while the access log is on. A record msgspec cannot encode
    is written by the standard library, values it cannot encode as their repr(): a log
    call never raises for what it was given."""
    try:
        return _JSON.encode(event).decode()
    except Exception:
        try:
            return json.dumps({str(k): v for k, v in event.items()}, default=repr)
        except Exception:
            fields = {str(k): _safe_repr(v) for k, v in event.items()}
            return json.dumps(fields)


def _safe_repr(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    try:
        return repr(value)
    except Exception:
        return f"<unrepresentable {type(value).__name__}>"


LogListener = Callable[[Mapping[str, Any]], None]


class LogTap:
    """The processor behind `observe_logs`. It sees structlog's records and, through the
    pre-chain, the standard library's (uvicorn, litestar), at or above the configured
    level, with secrets already redacted. With nobody listening it costs one check."""

    def __init__(self) -> None:
        self._listeners: tuple[LogListener, ...] = ()

    def subscribe(self, listener: LogListener) -> Callable[[], None]:
        self._listeners = (*self._listeners, listener)

        def unsubscribe() -> None:
            self._listeners = tuple(known for known in self._listeners if known is not listener)

        return unsubscribe

    def __call__(self, _: Any, __: str, event: EventDict) -> EventDict:
        for listener in self._listeners:
            with contextlib.suppress(Exception):  # a listener never breaks logging, nor logs
                listener(event)
        return event


LOG_TAP = LogTap()


def observe_logs(listener: LogListener) -> Callable[[], None]:
    """Call `listener` with every log record from now on; returns the function that stops
    it. The record is the live event dict (keys such as `event`, `level`, `timestamp`,
    `logger`; `_`-prefixed keys are the standard library's internals): copy what you keep,
    change nothing. The listener runs inside the logging call, possibly on another thread,
    so it must be quick, never block and never log."""
    return LOG_TAP.subscribe(listener)


def configure_logging(level: str = "info", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Configure structlog and the standard library's logging; `stream` defaults to stderr."""
    out = stream or sys.stderr
    json_lines = fmt == "json" or (fmt == "auto" and not out.isatty())
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        IsoTimestamp(),
        redact_secrets,
        LOG_TAP,
    ]
    renderer: Processor = (
        render_json if json_lines else structlog.dev.ConsoleRenderer(colors=out.isatty())
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
