"""What AQL values mean here: equality, comparison, truth, order — defined once, and
mirrored exactly by the SQL that `compile_sqlite` pushes down to SQLite.

- A missing field is `null`.
- `==` / `!=` compare type and value (`1 == 1.0`, `true != 1`, arrays and objects deeply).
- `< <= > >=` hold only between two numbers, two strings (by code point) or two booleans
  (`false < true`); any other pair — a missing field, `null`, mixed types — is false. So
  `FILTER d.year < 2000` never returns documents without a year.
- `a IN b` holds when `b` is an array with an element equal to `a`.
- In a FILTER, `null`, `false`, `0` and `""` are false, everything else true.
- SORT orders `null` (and missing) < booleans < numbers < strings < arrays < objects;
  arrays and objects among themselves keep an unspecified (but stable) order.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

RANK_NULL, RANK_BOOL, RANK_NUMBER, RANK_STRING, RANK_ARRAY, RANK_OBJECT = range(6)
_RANKS: dict[type, int] = {
    type(None): RANK_NULL,
    bool: RANK_BOOL,
    int: RANK_NUMBER,
    float: RANK_NUMBER,
    str: RANK_STRING,
    list: RANK_ARRAY,
    dict: RANK_OBJECT,
}


def rank(value: Any) -> int:
    return _RANKS.get(type(value), RANK_NULL)


def truthy(value: Any) -> bool:
    if value is None or value is False:
        return False
    if type(value) in (int, float, str):
        return bool(value)
    return True


def equal(left: Any, right: Any) -> bool:
    kind = rank(left)
    if kind != rank(right):
        return False
    if kind == RANK_ARRAY:
        return len(left) == len(right) and all(map(equal, left, right))
    if kind == RANK_OBJECT:
        return left.keys() == right.keys() and all(equal(v, right[k]) for k, v in left.items())
    return bool(left == right)


def ordered(operator: str, left: Any, right: Any) -> bool:
    """`<`, `<=`, `>`, `>=`: only between numbers, strings or booleans of the same kind."""
    kind = rank(left)
    if kind != rank(right) or kind not in (RANK_BOOL, RANK_NUMBER, RANK_STRING):
        return False
    if operator == "<":
        return bool(left < right)
    if operator == "<=":
        return bool(left <= right)
    if operator == ">":
        return bool(left > right)
    return bool(left >= right)


def compare(operator: str, left: Any, right: Any) -> bool:
    if operator == "==":
        return equal(left, right)
    if operator == "!=":
        return not equal(left, right)
    return ordered(operator, left, right)


def contains(container: Any, item: Any) -> bool:
    """`item IN container`."""
    if type(container) is not list:
        return False
    return any(equal(item, element) for element in container)


def freeze(value: Any) -> Hashable:
    """A hashable stand-in with the same equality as `equal` (`1` and `1.0` alike, `true`
    and `1` not): keys for hash joins, COLLECT groups and IN over constant arrays."""
    kind = rank(value)
    if kind == RANK_ARRAY:
        return (kind, tuple(freeze(item) for item in value))
    if kind == RANK_OBJECT:
        return (kind, frozenset((key, freeze(item)) for key, item in value.items()))
    return (kind, value)


def sort_key(value: Any) -> tuple[int, Any]:
    """The SORT order: rank first, then the value for booleans, numbers and strings."""
    kind = rank(value)
    if kind in (RANK_BOOL, RANK_NUMBER, RANK_STRING):
        return (kind, value)
    return (kind, 0)


def is_number(value: Any) -> bool:
    return type(value) in (int, float)


def arithmetic(operator: str, left: Any, right: Any) -> Any:
    """`+ - * / %` on two numbers; anything else, or dividing by zero, is null."""
    if not (is_number(left) and is_number(right)):
        return None
    if operator == "+":
        return left + right
    if operator == "-":
        return left - right
    if operator == "*":
        return left * right
    if right == 0:
        return None
    if operator == "/":
        if type(left) is int and type(right) is int and left % right == 0:
            return left // right
        return left / right
    return left % right
