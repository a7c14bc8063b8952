"""The wire protocol: what a client may send (msgspec Structs, a union tagged on `action`)
and what the server sends (frames tagged on `type`), with the stable error codes.

Inbound messages are decoded once, straight into their Struct; a message that does not
fit is classified (`invalid_json`, `invalid_message`, `unknown_action`, `invalid_field`)
from msgspec's error so the client learns which field was wrong. Frames are encoded once
per message, however many connections receive them. docs/websocket-protocol.md is the
reference for clients.
"""

from __future__ import annotations

import re
import time
from typing import Annotated, Any, Final

import msgspec

# --- limits shared with the v4 REST API -------------------------------------------------

Collection = Annotated[
    str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=32_768)]
Vector = Annotated[list[float], msgspec.Meta(min_length=1, max_length=8192)]
Scalar = str | int | float | bool | None
ClientId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:@-]{1,128}$")]
RequestId = Annotated[str, msgspec.Meta(max_length=128)] | int

CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")

# --- error codes (stable: clients branch on them) ----------------------------------------

INVALID_JSON: Final = "invalid_json"
INVALID_MESSAGE: Final = "invalid_message"
UNKNOWN_ACTION: Final = "unknown_action"
INVALID_FIELD: Final = "invalid_field"
RATE_LIMITED: Final = "rate_limited"
TOO_LARGE: Final = "too_large"
BUSY: Final = "busy"
FORBIDDEN: Final = "forbidden"
UNAUTHORIZED: Final = "unauthorized"
TOO_MANY_CONNECTIONS: Final = "too_many_connections"
CLIENT_ID_TAKEN: Final = "client_id_taken"
IDLE_TIMEOUT: Final = "idle_timeout"
UNAVAILABLE: Final = "unavailable"
BAD_REQUEST: Final = "bad_request"
NOT_FOUND: Final = "not_found"
SEARCH_FAILED: Final = "search_failed"
INTERNAL_ERROR: Final = "internal_error"

# --- close codes ------------------------------------------------------------------------

CLOSE_NORMAL: Final = 1000
CLOSE_POLICY: Final = 1008
CLOSE_TOO_BIG: Final = 1009
CLOSE_INTERNAL: Final = 1011
CLOSE_TRY_AGAIN: Final = 1013
CLOSE_UNAUTHORIZED: Final = 4401
CLOSE_FORBIDDEN: Final = 4403
CLOSE_IDLE: Final = 4408


# --- inbound ----------------------------------------------------------------------------


class Message(msgspec.Struct, tag_field="action", kw_only=True, forbid_unknown_fields=True):
    """Every client message: `action` picks the kind; `id`, when given, is echoed in the
    frames that answer it, so a client can run several searches at once."""

    id: RequestId | None = None


class Search(Message, tag="search"):
    query: Text | None = None
    vector: Vector | None = None
    top_k: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 10
    collection: Collection | None = None
    filters: dict[str, Scalar] = {}
    threshold: Annotated[float, msgspec.Meta(ge=-1.0, le=1.0)] | None = None
    include_documents: bool = True


class Ping(Message, tag="ping"):
    pass


class Broadcast(Message, tag="broadcast"):
    """To every client connected to any instance."""

    message: msgspec.Raw


class Send(Message, tag="send"):
    """To every connection of one client id, on any instance."""

    to: ClientId
    message: msgspec.Raw


Inbound = Search | Ping | Broadcast | Send
BUILTIN_ACTIONS: Final = ("search", "ping", "broadcast", "send")
# what the streams (status, logs) accept besides closing
STREAM_ACTIONS: Final = ("ping",)


class Rejected(Exception):
    """A message the protocol cannot take: answered with an error frame, connection open."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


_AT_PATH = re.compile(r" - at `\$\.?([^`]*)`$")
_NAMED_FIELD = re.compile(r"field `([^`]+)`")


def classify(error: msgspec.DecodeError) -> Rejected:
    """Turn msgspec's complaint into the error a client can act on."""
    text = str(error)
    if not isinstance(error, msgspec.ValidationError):
        return Rejected(INVALID_JSON, f"not a JSON message: {text}")
    at = _AT_PATH.search(text)
    path = at.group(1) if at else ""
    named = _NAMED_FIELD.search(text)
    if named and not path:
        path = named.group(1)
    elif named:
        path = f"{path}.{named.group(1)}"
    if path == "action" or text == "Object missing required field `action`":
        return Rejected(UNKNOWN_ACTION, "unknown or missing `action`", field="action")
    if not path:
        return Rejected(INVALID_MESSAGE, f"a message is a JSON object: {text}")
    reason = _AT_PATH.sub("", text)
    return Rejected(INVALID_FIELD, f"{path}: {reason}", field=path)


# --- outbound ---------------------------------------------------------------------------


class Frame(msgspec.Struct, tag_field="type", omit_defaults=True):
    pass


class Connected(Frame, tag="connected", kw_only=True):
    client_id: str
    connection_id: str
    instance: str
    heartbeat_seconds: float
    idle_timeout_seconds: float
    max_message_bytes: int
    actions: list[str]


class SearchStarted(Frame, tag="search_started", kw_only=True):
    query: str | None
    id: RequestId | None = None


class Result(Frame, tag="result", kw_only=True):
    data: Any
    index: int
    total: int
    id: RequestId | None = None


class SearchComplete(Frame, tag="search_complete", kw_only=True):
    total_results: int
    id: RequestId | None = None


class Pong(Frame, tag="pong", kw_only=True):
    ts: float
    id: RequestId | None = None


class Heartbeat(Frame, tag="heartbeat", kw_only=True):
    ts: float


class Error(Frame, tag="error", kw_only=True):
    code: str
    message: str
    field: str | None = None
    retry_after: float | None = None
    max_bytes: int | None = None
    problem: str | None = None
    id: RequestId | None = None


class BroadcastFrame(Frame, tag="broadcast", kw_only=True):
    sender: str = msgspec.field(name="from")
    message: msgspec.Raw


class PersonalFrame(Frame, tag="message", kw_only=True):
    sender: str = msgspec.field(name="from")
    message: msgspec.Raw


class UserDisconnected(Frame, tag="user_disconnected", kw_only=True):
    client_id: str


class LogsDropped(Frame, tag="logs_dropped", kw_only=True):
    dropped: int


_encoder = msgspec.json.Encoder()


def encode(frame: msgspec.Struct | dict[str, Any]) -> str:
    return _encoder.encode(frame).decode()


def error_frame(rejected: Rejected, request_id: RequestId | None = None) -> Error:
    return Error(code=rejected.code, message=rejected.message, id=request_id, **rejected.extra)


def heartbeat_text() -> str:
    return encode(Heartbeat(ts=round(time.time(), 3)))
