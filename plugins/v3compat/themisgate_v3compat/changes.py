"""The vocabulary for declaring how one API version differs from the next, and the engine
that applies such declarations to bodies.

In the spirit of Stripe's version changes and Cadwyn: a `VersionChange` lists, as data,
what changed between two versions (a route moved, a field renamed, a default added, a
field split). A request of an old version is brought forward by applying each change in
order, oldest first; a response is brought back by undoing them newest first. Serving v3
after a v5 exists means declaring the v4→v5 change, not writing handlers.

Every instruction names the `endpoint` it touches: a logical operation ("search", "aql",
"stats") whose name stays the same across versions. Bodies are the plain dicts, lists and
scalars `msgspec.to_builtins` gives; the engine owns them and changes them in place.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Body = dict[str, Any]
Side = Literal["request", "response"]
Step = Callable[[Body], None]
Change = Callable[[Body], None]  # changes one object in place


def _each(within: str | None, changes: Sequence[Change]) -> Step:
    """One step applying `changes`, in order, to the body or to each object of its list
    `within` (e.g. every search result), in a single pass."""
    if within is None:

        def on_body(body: Body) -> None:
            for change in changes:
                change(body)

        return on_body

    def on_items(body: Body) -> None:
        for item in body.get(within) or ():
            if isinstance(item, dict):
                for change in changes:
                    change(item)

    return on_items


def _fused(steps: Sequence[tuple[str | None, Change]]) -> tuple[Step, ...]:
    """Consecutive changes to the same objects fused into one pass over them."""
    return tuple(
        _each(within, [change for _, change in group])
        for within, group in itertools.groupby(steps, key=lambda step: step[0])
    )


def _code(name: str) -> str:
    return f"`{name}`"


def _where(within: str | None) -> str:
    return f" in each item of {_code(within)}" if within else ""


@dataclass(frozen=True)
class Instruction:
    """One difference between two versions of one endpoint. Subclasses say how an object
    of a request moves to the newer version (`forward_one`) and one of a response to the
    older version (`backward_one`), and which side they touch (`applies_to`). The object
    is the body, or each object of its list `within`."""

    endpoint: str
    within: str | None = field(default=None, kw_only=True)

    def applies_to(self, side: Side) -> bool:
        return False

    def forward_one(self, obj: Body) -> None:
        """One object of a request of the older version, made one of the newer."""

    def backward_one(self, obj: Body) -> None:
        """One object of a response of the newer version, made one of the older."""

    def forward(self, body: Body) -> None:
        _each(self.within, [self.forward_one])(body)

    def backward(self, body: Body) -> None:
        _each(self.within, [self.backward_one])(body)

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class RouteMoved(Instruction):
    """The endpoint is served at another path in the newer version."""

    method: str
    old: str
    new: str

    def describe(self) -> str:
        return f"`{self.method} {self.old}` is `{self.method} {self.new}`."


@dataclass(frozen=True, kw_only=True)
class FieldDefaulted(Instruction):
    """A request field the older version let clients leave out (taking `default`) is
    required in the newer one."""

    field: str
    default: Any

    def applies_to(self, side: Side) -> bool:
        return side == "request"

    def forward_one(self, obj: Body) -> None:
        if obj.get(self.field) is None:
            obj[self.field] = self.default

    def describe(self) -> str:
        return (
            f"Request field {_code(self.field)} is required; the old version used "
            f"`{json.dumps(self.default)}` when it was left out."
        )


@dataclass(frozen=True, kw_only=True)
class FieldRenamed(Instruction):
    """A field called `old` in the older version is called `new` in the newer."""

    side: Side
    old: str
    new: str

    def applies_to(self, side: Side) -> bool:
        return side == self.side

    def forward_one(self, obj: Body) -> None:
        if self.old in obj:
            obj[self.new] = obj.pop(self.old)

    def backward_one(self, obj: Body) -> None:
        if self.new in obj:
            obj[self.old] = obj.pop(self.new)

    def describe(self) -> str:
        return (
            f"{self.side.capitalize()} field {_code(self.old)}{_where(self.within)} "
            f"is called {_code(self.new)}."
        )


@dataclass(frozen=True, kw_only=True)
class FieldAdded(Instruction):
    """The newer version added `field`. In a request the older version cannot send it (the
    newer version's default applies); from a response it is removed for older clients."""

    side: Side
    field: str

    def applies_to(self, side: Side) -> bool:
        return side == self.side

    def backward_one(self, obj: Body) -> None:
        obj.pop(self.field, None)

    def describe(self) -> str:
        return f"New {self.side} field {_code(self.field)}{_where(self.within)}."


@dataclass(frozen=True, kw_only=True)
class FieldsNested(Instruction):
    """Top-level `fields` of the older version are grouped in the object `into`."""

    side: Side
    into: str
    fields: tuple[str, ...]

    def applies_to(self, side: Side) -> bool:
        return side == self.side

    def forward_one(self, obj: Body) -> None:
        obj[self.into] = {f: obj.pop(f) for f in self.fields if f in obj}

    def backward_one(self, obj: Body) -> None:
        inner = obj.pop(self.into, None)
        if isinstance(inner, dict):
            obj.update({f: inner[f] for f in self.fields if f in inner})

    def describe(self) -> str:
        names = ", ".join(_code(f) for f in self.fields)
        return f"{self.side.capitalize()} fields {names} moved into the object {_code(self.into)}."


@dataclass(frozen=True, kw_only=True)
class DocumentSplit(Instruction):
    """The older version split each document in two: its `text` field as `content` and
    the other fields as `metadata`; the newer one returns the whole `document`."""

    document: str = "document"
    text: str = "text"
    content: str = "content"
    metadata: str = "metadata"

    def applies_to(self, side: Side) -> bool:
        return side == "response"

    def forward_one(self, obj: Body) -> None:
        document = dict(obj.pop(self.metadata, None) or {})
        content = obj.pop(self.content, None)
        if content is not None:
            document[self.text] = content
        obj[self.document] = document

    def backward_one(self, obj: Body) -> None:
        metadata = dict(obj.pop(self.document, None) or ())
        text = metadata.get(self.text)
        if isinstance(text, str):
            del metadata[self.text]
            obj[self.content] = text
        else:  # no text, or not a string: it stays with the other fields
            obj[self.content] = None
        obj[self.metadata] = metadata

    def describe(self) -> str:
        return (
            f"Response {_code(self.content)} (the document's {_code(self.text)}) and "
            f"{_code(self.metadata)} (its other fields){_where(self.within)} are one "
            f"object, {_code(self.document)}."
        )


@dataclass(frozen=True)
class VersionChange:
    """Everything that changed from version `previous` to version `version`."""

    previous: str
    version: str
    summary: str
    instructions: tuple[Instruction, ...]


class Translation:
    """The steps that bring one endpoint's requests forward and responses back across a
    chain of changes, oldest first; compiled once, applied per request."""

    def __init__(self, chain: Sequence[VersionChange], endpoint: str) -> None:
        mine = [i for change in chain for i in change.instructions if i.endpoint == endpoint]
        self.endpoint = endpoint
        self.request_steps = _fused(
            [(i.within, i.forward_one) for i in mine if i.applies_to("request")]
        )
        self.response_steps = _fused(
            [(i.within, i.backward_one) for i in reversed(mine) if i.applies_to("response")]
        )

    def request(self, body: Body) -> Body:
        for step in self.request_steps:
            step(body)
        return body

    def response(self, body: Body) -> Body:
        for step in self.response_steps:
            step(body)
        return body


def successors(chain: Sequence[VersionChange]) -> dict[str, str]:
    """Each path of the oldest version mapped to where it lives in the newest, following
    `RouteMoved` through every change of the chain."""
    if not chain:
        return {}
    found = {i.old: i.new for i in chain[0].instructions if isinstance(i, RouteMoved)}
    for change in chain[1:]:
        moved = {i.old: i.new for i in change.instructions if isinstance(i, RouteMoved)}
        found = {old: moved.get(new, new) for old, new in found.items()}
    return found
