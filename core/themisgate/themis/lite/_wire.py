"""The wire API's conventions: JSON bodies, error bodies, entity keys and vector pks.

Addresses on the wire and in the backend:
- An entity key is `table:pk`, split at the first `:` into collection `table` and key `pk`
  (the key may itself contain `:`). A key with `/`, `\\` or a control character is refused
  as "invalid entity key", as the server refuses path traversal.
- A vector pk is whatever string the client sent. `coll:key` lives in collection `coll`
  under `key`; a pk without `:` lives in the empty collection `""` (allowed for vectors
  only), which is how the http backend reads such pks too. Results render `("", key)` as
  `key` and any other as `coll:key`, so every pk comes back exactly as it was written and
  no two pks share a vector.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response

OBJECT_NAME = "documents"
JSON = "application/json"

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()
_FORBIDDEN = frozenset("/\\") | frozenset(chr(code) for code in range(32)) | {"\x7f"}


class WireError(Exception):
    """An answer the wire API gives as `{"error": true, "message", "status_code"}`; with
    `code`, the auth/policy shape `{"error": code, "message"}` instead."""

    def __init__(self, status: int, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code

    def response(self) -> Response[bytes]:
        return error_response(self.status, self.message, code=self.code)


def json_response(body: Any, status: int = 200) -> Response[bytes]:
    return Response(content=_encoder.encode(body), status_code=status, media_type=JSON)


def error_response(status: int, message: str, *, code: str | None = None) -> Response[bytes]:
    body: dict[str, Any] = (
        {"error": code, "message": message}
        if code is not None
        else {"error": True, "message": message, "status_code": status}
    )
    return json_response(body, status)


def encode(value: Any) -> bytes:
    return _encoder.encode(value)


def decode(raw: bytes | str) -> Any:
    return _decoder.decode(raw)


async def read_object(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The request body as a JSON object; an empty body counts as `{}`."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = _decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise WireError(400, f"Invalid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise WireError(400, "Request body must be a JSON object")
    return body


def entity_address(raw: str, *, writing: bool) -> tuple[str, str] | None:
    """`table:pk` -> `(table, pk)`; None when a read names something that cannot exist."""
    if not raw or not _FORBIDDEN.isdisjoint(raw):
        raise WireError(400, "invalid entity key")
    table, colon, pk = raw.partition(":")
    if not colon or not table or not pk:
        if writing:
            raise WireError(400, "Key must be in format 'table:pk'")
        return None
    return table, pk


def vector_address(pk: str) -> tuple[str, str] | None:
    """A wire pk -> `(collection, key)`, or None if it cannot name a vector (`users:`)."""
    collection, colon, key = pk.partition(":")
    if not colon:
        return ("", pk) if pk else None
    if not collection or not key:
        return None
    return collection, key


def wire_pk(collection: str, key: str) -> str:
    return f"{collection}:{key}" if collection else key


def field(body: dict[str, Any], name: str, kind: type | tuple[type, ...], what: str) -> Any:
    """An optional field of the given JSON type (bools are never numbers); None if absent."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise WireError(400, f"Field '{name}' must be {what}")
    if not isinstance(value, kind):
        raise WireError(400, f"Field '{name}' must be {what}")
    return value
