"""`[plugins.websocket]`: every setting, typed and checked when `plugins.toml` is read, so a
typo stops start-up with a line naming the key instead of surfacing as closed sockets."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

import msgspec

from themisgate import Secret

Seconds = Annotated[float, msgspec.Meta(gt=0, le=86_400)]
SecondsOrOff = Annotated[float, msgspec.Meta(ge=0, le=86_400)]
Cost = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
Scope = Literal["read", "write", "admin"]

REDIS_SCHEMES = ("redis", "rediss", "unix")
_PREFIX = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_PAGE = re.compile(r"^(/[A-Za-z0-9_.-]+)+$")


class Config(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """`[plugins.websocket]` (docs/websocket.md has each setting with examples)."""

    # cross-instance delivery of broadcasts and personal messages; unset: this process only
    redis_url: str | None = None
    redis_password: Secret | None = None
    # channel and key prefix on Redis: instances sharing it reach each other's clients
    redis_prefix: str = "themisgate:ws"
    redis_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=30)] = 1.0
    # an instance not heard from for this long no longer counts in presence checks
    presence_ttl_seconds: Annotated[float, msgspec.Meta(ge=3, le=3600)] = 30.0

    # tell every client `user_disconnected` when a client's last connection closes (each
    # departure is a frame to every client: switch off for very many short-lived clients)
    announce_disconnects: bool = True

    # inbound messages larger than this close the connection with 1009
    max_message_bytes: Annotated[int, msgspec.Meta(ge=256, le=16 * 1024 * 1024)] = 65_536
    # open connections one identity may hold on one instance (all endpoints together)
    max_connections_per_identity: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 32
    # frames waiting for a slow client; one more closes it with 1013
    send_queue_size: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 256
    # no message from the client for this long closes it with 4408; 0: never
    idle_timeout_seconds: SecondsOrOff = 300.0
    # a {"type": "heartbeat"} frame this often; 0: none
    heartbeat_seconds: SecondsOrOff = 25.0
    # how long a closing handshake may wait for a client that does not read
    close_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=120)] = 10.0

    # search
    default_collection: str = "documents"
    max_top_k: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100
    max_concurrent_searches: Annotated[int, msgspec.Meta(ge=1, le=64)] = 4
    # rate-limit cost of one message: `search_cost` for a search, `message_cost` otherwise
    search_cost: Cost = 1
    message_cost: Cost = 1
    # scope a caller needs to send `broadcast` and `send` messages
    messaging_scope: Scope = "write"

    # adapter status stream: every `status_interval_seconds`, and on a change noticed by a
    # health check every `status_poll_seconds`
    status_interval_seconds: Seconds = 5.0
    status_poll_seconds: Seconds = 1.0

    # log stream: records kept for SSE `Last-Event-ID` resume, each subscriber's queue, and
    # how long records are kept after the last log subscriber left
    log_buffer_size: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 1000
    log_queue_size: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 1000
    log_resume_seconds: SecondsOrOff = 300.0

    # SSE: a comment line this often keeps proxies from closing quiet streams
    sse_heartbeat_seconds: Seconds = 15.0
    # the JavaScript client page; "" to serve none
    client_page: str = "/websocket"

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.redis_url is not None:
            problems.extend(_redis_url_problems(self.redis_url))
        if not _PREFIX.match(self.redis_prefix):
            problems.append(
                "redis_prefix: 1-64 characters of letters, digits and _ . : -, e.g. 'themisgate:ws'"
            )
        if not re.match(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", self.default_collection):
            problems.append("default_collection: not a collection name")
        if self.client_page and not _PAGE.match(self.client_page):
            problems.append("client_page: a path like '/websocket', or '' for no page")
        if self.status_poll_seconds > self.status_interval_seconds:
            problems.append("status_poll_seconds: must not exceed status_interval_seconds")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def uses_redis(self) -> bool:
        return self.redis_url is not None


def _redis_url_problems(url: str) -> list[str]:
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return [f"redis_url: not a URL ({exc})"]
    if parts.scheme not in REDIS_SCHEMES:
        return [
            f"redis_url: scheme {parts.scheme!r} is not one of {', '.join(REDIS_SCHEMES)}; "
            "e.g. 'redis://127.0.0.1:6379/0'"
        ]
    if parts.password:
        return ['redis_url: keep the password out of the URL; set redis_password = { env = "VAR" }']
    if parts.scheme != "unix" and not parts.hostname:
        return ["redis_url: no host, e.g. 'redis://127.0.0.1:6379/0'"]
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        return ["redis_url: the port is not a number from 0 to 65535"]
    return []


def redacted_url(url: str | None) -> str | None:
    """The URL as listings show it: without user info."""
    if url is None:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return parts._replace(netloc=f"{host}{port}").geturl()
