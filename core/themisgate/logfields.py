"""Fields bound into every log record of the current request or task, set on the request
path without structlog's per-call lookup.

`structlog.contextvars.bind_contextvars(key=value)` keeps each key in a context variable
of its own and finds it by name on every call. `log_field(key)` finds that variable once
(by binding a marker in a scratch context and looking for it), so a middleware can set
and reset it directly, for a fraction of the cost; records still get the field through
structlog's `merge_contextvars`, which the core's log set-up installs.
"""

from __future__ import annotations

import contextvars
from typing import Any

from structlog.contextvars import bind_contextvars


def log_field(key: str) -> contextvars.ContextVar[Any]:
    """The context variable behind the structlog context key `key`."""
    marker = object()

    def bind() -> contextvars.ContextVar[Any]:
        bind_contextvars(**{key: marker})
        return next(v for v, value in contextvars.copy_context().items() if value is marker)

    return contextvars.Context().run(bind)
