"""Secrets in settings: resolved from references, never shown.

In `plugins.toml` a secret is written as a reference — `{ env = "THEMIS_TOKEN" }` or
`{ file = "/run/secrets/themis_token" }` — or, discouraged, inline. Settings fields typed
`Secret` hold the resolved value; `str(secret)` and `repr(secret)` are redacted so a secret
cannot leak through a log line, a listing or an error message by accident. Call `reveal()`
where the value is really needed (an Authorization header, an HMAC key).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

REDACTED = "********"


class SecretError(ValueError):
    """A secret reference that cannot be resolved; the message never contains the secret."""


class Secret:
    __slots__ = ("_source", "_value")

    def __init__(self, value: str, source: str = "inline") -> None:
        self._value = value
        self._source = source

    def reveal(self) -> str:
        return self._value

    @property
    def source(self) -> str:
        """Where the value came from, safe to show: `env:NAME`, `file:PATH` or `inline`."""
        return self._source

    def __repr__(self) -> str:
        return f"Secret({self._source})"

    def __str__(self) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    @classmethod
    def from_setting(cls, raw: Any) -> Secret:
        """Build a Secret from what a settings file holds: a string or a reference table."""
        if isinstance(raw, Secret):
            return raw
        if isinstance(raw, str):
            return cls(raw, "inline")
        if isinstance(raw, dict) and len(raw) == 1:
            ((kind, where),) = raw.items()
            if kind == "env" and isinstance(where, str):
                value = os.environ.get(where)
                if value is None:
                    raise SecretError(f"environment variable {where} is not set")
                return cls(value, f"env:{where}")
            if kind == "file" and isinstance(where, str):
                try:
                    value = Path(where).read_text(encoding="utf-8").strip()
                except OSError as exc:
                    raise SecretError(f"cannot read secret file {where}: {exc.strerror}") from None
                return cls(value, f"file:{where}")
        raise SecretError('expected a string, { env = "VAR" } or { file = "path" }')

    def describe(self) -> str:
        """What listings show instead of the value."""
        return REDACTED if self._source == "inline" else f"{REDACTED} ({self._source})"
