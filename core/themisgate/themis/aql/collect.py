"""COLLECT … AGGREGATE: rows grouped by a value, with COUNT, SUM, AVG, MIN and MAX."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from typing import Any

from .ast import Collect
from .evaluate import Row, compile_expr
from .values import freeze, is_number, sort_key


def collected(rows: Iterator[Row], collect: Collect) -> Iterator[Row]:
    """One row per group (groups sorted by their value, as ArangoDB does), holding the
    group variable and each aggregate; `COLLECT AGGREGATE` makes one group of all rows,
    even of none."""
    group = compile_expr(collect.group_expr) if collect.group_expr is not None else None
    aggregates = [
        (a.variable, a.function, None if a.argument is None else compile_expr(a.argument))
        for a in collect.aggregates
    ]
    groups: dict[Hashable, tuple[Any, list[_Accumulator]]] = {}
    for row in rows:
        value = group(row) if group is not None else None
        entry = groups.get(frozen := freeze(value))
        if entry is None:
            entry = groups[frozen] = (value, [_Accumulator(f) for _, f, _ in aggregates])
        for accumulator, (_, _, argument) in zip(entry[1], aggregates, strict=True):
            accumulator.add(row, argument)
    if group is None and not groups:
        groups[None] = (None, [_Accumulator(f) for _, f, _ in aggregates])
    ordered = sorted(groups.values(), key=lambda entry: sort_key(entry[0]))
    for value, accumulators in ordered:
        out: Row = {} if collect.group is None else {collect.group: value}
        for (name, _, _), accumulator in zip(aggregates, accumulators, strict=True):
            out[name] = accumulator.result()
        yield out


class _Accumulator:
    """One aggregate of one group, fed row by row."""

    __slots__ = ("count", "function", "total", "values")

    def __init__(self, function: str) -> None:
        self.function = function
        self.count = 0
        self.total: float = 0
        self.values: list[Any] = []

    def add(self, row: Row, argument: Callable[[Row], Any] | None) -> None:
        if argument is None:
            self.count += 1
            return
        value = argument(row)
        if self.function == "COUNT":
            self.count += value is not None
        elif self.function in ("SUM", "AVG"):
            if is_number(value):
                self.total += value
                self.count += 1
        elif value is not None:
            self.values.append(value)

    def result(self) -> Any:
        if self.function == "COUNT":
            return self.count
        if self.function == "SUM":
            return self.total
        if self.function == "AVG":
            return self.total / self.count if self.count else None
        if not self.values:
            return None
        chooser = min if self.function == "MIN" else max
        return chooser(self.values, key=sort_key)
