"""Opaque cursors for paging through AQL results: stateless, signed, expiring.

A cursor carries where the next page starts, which query it belongs to (a fingerprint of
the query text, its bind values and options), the batch size, and when it expires, signed
with HMAC-SHA256. Nothing is kept on the server, so any worker process (or, with a shared
secret, any server) can continue any cursor, and a restart loses nothing. The client sends
the same query and binds again with the cursor, as the wire API's cursors require; a
cursor for another query, an altered one, or one past its time is a clear 400
(`aql-cursor-invalid`, `aql-cursor-expired`).

Pages are computed when asked for, so writes between two pages can shift the results of a
query without SORT on a unique field; the engine keeps the order deterministic otherwise.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from ...secrets import Secret
from ..errors import ThemisBadRequest
from .errors import AqlCursorExpired, AqlCursorInvalid

# longer tokens are refused before any work is done on them
MAX_CURSOR_CHARS = 2048
_SIGNATURE_BYTES = 20
_canonical = msgspec.json.Encoder(order="sorted")


class CursorPayload(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    query: str = msgspec.field(name="q")
    # where the next page starts: an offset into the results, or the server's own cursor
    position: int | str = msgspec.field(name="p")
    batch_size: int = msgspec.field(name="b")
    expires: float = msgspec.field(name="x")


_decoder = msgspec.json.Decoder(CursorPayload)


def fingerprint(query: str, bind_vars: Mapping[str, Any], **options: Any) -> str:
    """Which query a cursor belongs to: the text, the binds and the options, hashed."""
    payload = _canonical.encode([query, dict(bind_vars), options])
    return hashlib.sha256(payload).hexdigest()[:32]


class CursorCodec:
    """Issues and opens cursors with one secret; `ttl` seconds until a cursor expires."""

    def __init__(
        self, secret: bytes, ttl: float, *, clock: Callable[[], float] = time.time
    ) -> None:
        if len(secret) < 16:
            raise ValueError("a cursor secret needs at least 16 bytes")
        self._secret = secret
        self.ttl = ttl
        self._clock = clock

    def issue(self, query: str, position: int | str, batch_size: int) -> str:
        payload = msgspec.json.encode(
            CursorPayload(query, position, batch_size, round(self._clock() + self.ttl, 3))
        )
        return f"{_b64(payload)}.{_b64(self._sign(payload))}"

    def open(self, token: str, query: str) -> CursorPayload:
        """The payload of a cursor issued for `query`, or `AqlCursorInvalid` /
        `AqlCursorExpired`."""
        if not isinstance(token, str) or len(token) > MAX_CURSOR_CHARS:
            raise AqlCursorInvalid("the cursor is not one this server issued")
        body, dot, signature = token.partition(".")
        if not dot:
            raise AqlCursorInvalid("the cursor is not one this server issued")
        try:
            payload = _unb64(body)
            given = _unb64(signature)
        except (binascii.Error, ValueError):
            raise AqlCursorInvalid("the cursor is not one this server issued") from None
        if not hmac.compare_digest(given, self._sign(payload)):
            raise AqlCursorInvalid(
                "the cursor was altered or issued by another server (its signature does "
                "not match); run the query again without a cursor"
            )
        try:
            opened = _decoder.decode(payload)
        except msgspec.DecodeError:
            raise AqlCursorInvalid("the cursor is not one this server issued") from None
        if opened.query != query:
            raise AqlCursorInvalid(
                "the cursor belongs to another query: send the same query, bind variables "
                "and options with it"
            )
        if self._clock() > opened.expires:
            raise AqlCursorExpired(
                f"the cursor expired (cursors last {self.ttl:g} seconds); run the query "
                "again without a cursor"
            )
        return opened

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]


def page(
    cursors: CursorCodec,
    key: str,
    batch_size: int | None,
    cursor: str | None,
    max_batch_size: int,
) -> tuple[int, int | None]:
    """`(skip, take)` for a request: everything, a first page, or the page a cursor names.
    A cursor's own batch size applies unless the request gives one."""
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
    ):
        raise ThemisBadRequest(f"batch_size must be a whole number >= 1, not {batch_size!r}")
    if batch_size is not None and batch_size > max_batch_size:
        raise ThemisBadRequest(f"batch_size must be at most {max_batch_size}, not {batch_size}")
    if cursor is None:
        return 0, batch_size
    opened = cursors.open(cursor, key)
    if not isinstance(opened.position, int) or opened.position < 0:
        raise AqlCursorInvalid("the cursor is not one this backend issued")
    return opened.position, batch_size if batch_size is not None else opened.batch_size


def cursor_key(configured: Secret | None, fallback: bytes) -> bytes:
    """The signing key: the configured secret (hashed, so any length works), else
    `fallback` (a random or stored key)."""
    if configured is not None and configured.reveal():
        return hashlib.sha256(configured.reveal().encode()).digest()
    return fallback


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text.isascii():
        raise ValueError("not base64")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
