"""Turning a TOML table into a typed msgspec Struct, reporting every problem at once.

msgspec stops at the first error; operators want them all, each naming the file, the
table and the key. So each key is converted on its own first, nested tables recursively,
and the whole struct last (for checks that span fields, such as `__post_init__`).
"""

from __future__ import annotations

import difflib
import re
from typing import Any, TypeVar

import msgspec

from .secrets import Secret

T = TypeVar("T")

_AT_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")


class Problem(msgspec.Struct, frozen=True):
    """One thing wrong with the settings, printable as one line."""

    source: str
    table: str
    key: str | None
    message: str

    def __str__(self) -> str:
        where = f"[{self.table}]" if self.table else "(top level)"
        key = f" {self.key}" if self.key else ""
        return f"{self.source}: {where}{key}: {self.message}"


class ConfigError(Exception):
    """Settings that cannot be used; `problems` holds one entry per thing wrong."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def decode_custom(type_: type, value: Any) -> Any:
    """msgspec `dec_hook` for the custom types settings may hold."""
    if type_ is Secret:
        return Secret.from_setting(value)
    raise NotImplementedError(f"unsupported settings type {type_!r}")


def _describe(value: Any, secret: bool) -> str:
    if secret:
        return "a value (hidden)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_STEP = re.compile(r"\[(\d+)\]|\.?([^.\[\]]+)")


def _value_at(value: Any, path: str) -> Any:
    """The part of `value` a msgspec path such as `[1].hash` points at."""
    for index, key in _STEP.findall(path):
        try:
            value = value[int(index)] if index else value[key]
        except (LookupError, TypeError, ValueError):
            break
    return value


def _message(error: msgspec.ValidationError, value: Any, secret: bool) -> tuple[str, str]:
    """msgspec's message made operator-friendly, and the sub-path it points at."""
    text = str(error)
    match = _AT_PATH.search(text)
    path = ""
    if match:
        path = match.group("path")
        text = text[: match.start()]
    path = path.lstrip(".")
    text = text.replace("`", "")
    text = text[:1].lower() + text[1:]
    if text.startswith("expected "):
        found = _describe(_value_at(value, path), secret)
        text = f"{text.split(', got ')[0]}; found {found}"
    return text, path


def _key_at(key: str, path: str) -> str:
    """`api_keys` and `[1].hash` → `api_keys[1].hash`, so a problem names the entry."""
    if not path:
        return key
    return f"{key}{path}" if path.startswith("[") else f"{key}.{path}"


def _is_secret_type(type_: Any) -> bool:
    return type_ is Secret or (Secret in getattr(type_, "__args__", ()))


def convert_table(
    data: Any, type_: type[T], *, source: str, table: str, origins: dict[str, str] | None = None
) -> tuple[T | None, list[Problem]]:
    """Convert `data` to `type_`; on failure return None and every problem found.

    `origins` maps a dotted `table.key` to where its value came from when that is not
    `source` (an environment variable override), so the error names the right place.
    """
    origins = origins or {}

    def problem(key: str | None, message: str) -> Problem:
        dotted = f"{table}.{key}" if key else table
        return Problem(origins.get(dotted, source), table, key, message)

    if not isinstance(data, dict):
        return None, [problem(None, f"expected a table; found {_describe(data, False)}")]
    if not issubclass(type_, msgspec.Struct):
        try:
            return msgspec.convert(data, type_, dec_hook=decode_custom), []
        except msgspec.ValidationError as exc:
            return None, [problem(None, _message(exc, data, False)[0])]

    fields = {f.encode_name: f for f in msgspec.structs.fields(type_)}
    problems: list[Problem] = []
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            known = ", ".join(sorted(fields)) or "none"
            problems.append(problem(key, f"unknown key; {hint}known keys: {known}"))
    for name, field in fields.items():
        if name not in data:
            if field.required:
                problems.append(problem(name, "required key is missing"))
            continue
        value = data[name]
        nested = field.type
        if isinstance(nested, type) and issubclass(nested, msgspec.Struct):
            _, sub = convert_table(
                value, nested, source=source, table=f"{table}.{name}", origins=origins
            )
            problems.extend(sub)
            continue
        try:
            msgspec.convert(value, field.type, dec_hook=decode_custom)
        except msgspec.ValidationError as exc:
            text, path = _message(exc, value, _is_secret_type(field.type))
            problems.append(problem(_key_at(name, path), text))
    if problems:
        return None, problems
    try:
        return msgspec.convert(data, type_, dec_hook=decode_custom), []
    except msgspec.ValidationError as exc:
        text, path = _message(exc, data, False)
        return None, [problem(path.split(".")[0] or None, text)]
