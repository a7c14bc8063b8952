"""A v3 endpoint as a translation: the v3 request brought forward through the declared
changes, answered by the current API's own operation, the answer brought back.

The v3 handlers stay one line each; what differs between versions lives in
`versions.py`. Bodies cross as plain builtins (`msgspec.to_builtins`), are changed in
place by the compiled steps, and are converted to the target Struct, which validates them:
a v3 request the current version refuses is a 422 problem naming the field; a current
answer that does not translate to the v3 shape is a bug and logged as one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import msgspec

from themisgate import AppContext, ProblemError

from .changes import Translation, VersionChange
from .versions import CHAIN

Answer = TypeVar("Answer")
Operation = Callable[[AppContext, Any], Awaitable[Any]]


class TranslationError(Exception):
    """The current API answered something the declarations do not bring back to v3."""


def _refused(error: msgspec.ValidationError) -> ProblemError:
    text = str(error)
    field = None
    if " - at `$." in text:
        text, _, path = text.partition(" - at `$.")
        field = path.rstrip("`")
    message = text.replace("`", "")
    return ProblemError(
        422,
        f"{field}: {message}" if field else message,
        slug="validation-error",
        errors=[{"field": field, "source": "body", "message": message}],
    )


class Endpoint(Generic[Answer]):
    def __init__(
        self,
        name: str,
        *,
        operation: Operation,
        request: type[Any] | None,
        answer: type[Answer],
        chain: Sequence[VersionChange] = CHAIN,
    ) -> None:
        self.name = name
        self.operation = operation
        self.request_type = request
        self.answer_type = answer
        self.translation = Translation(chain, name)

    async def __call__(self, ctx: AppContext, request: msgspec.Struct | None = None) -> Answer:
        current = None
        if request is not None and self.request_type is not None:
            body = self.translation.request(msgspec.to_builtins(request))
            try:
                current = msgspec.convert(body, self.request_type)
            except msgspec.ValidationError as error:
                raise _refused(error) from None
        answer = await self.operation(ctx, current)
        body = self.translation.response(msgspec.to_builtins(answer))
        try:
            return msgspec.convert(body, self.answer_type)
        except msgspec.ValidationError as error:
            raise TranslationError(
                f"the current {self.name!r} answer does not translate to v3: {error}; "
                f"declare the change in themisgate_v3compat.versions"
            ) from error
