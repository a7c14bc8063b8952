"""The few scalar functions the embedded engine evaluates (the server has many more; a
query calling one of those is a clear 400 here rather than a silently different answer).
Wrong argument types give `null`, as AQL does."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .values import is_number


def _length(value: Any) -> Any:
    if value is None:
        return 0
    if isinstance(value, str | list | dict):
        return len(value)
    return None


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else None


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else None


def _concat(*values: Any) -> Any:
    return "".join(_as_text(value) for value in values)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, str | int | float) else ""


def _abs(value: Any) -> Any:
    return abs(value) if is_number(value) else None


def _round(value: Any) -> Any:
    # half away from zero, like AQL's ROUND (Python's round() is half to even)
    if not is_number(value):
        return None
    return math.floor(value + 0.5) if value >= 0 else -math.floor(-value + 0.5)


def _floor(value: Any) -> Any:
    return math.floor(value) if is_number(value) else None


def _ceil(value: Any) -> Any:
    return math.ceil(value) if is_number(value) else None


# name -> (fewest arguments, most arguments or None for any, implementation)
FUNCTIONS: dict[str, tuple[int, int | None, Callable[..., Any]]] = {
    "LENGTH": (1, 1, _length),
    "LOWER": (1, 1, _lower),
    "UPPER": (1, 1, _upper),
    "CONCAT": (1, None, _concat),
    "ABS": (1, 1, _abs),
    "ROUND": (1, 1, _round),
    "FLOOR": (1, 1, _floor),
    "CEIL": (1, 1, _ceil),
}
