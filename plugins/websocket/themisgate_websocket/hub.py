"""The connection manager: this instance's open connections, who may open another, and
delivery of broadcasts and personal messages to clients on any instance.

A frame for many clients is encoded once and offered to each connection's bounded queue
(see connection.py), then published on the bus for the other instances, which deliver
it to their own clients. Several connections may share a client id (tabs, devices);
when the last of them closes everywhere, every client gets `user_disconnected`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import msgspec
import structlog

from .bus import Bus
from .connection import Connection
from .protocol import (
    BroadcastFrame,
    Frame,
    PersonalFrame,
    UserDisconnected,
    heartbeat_text,
)

log = structlog.get_logger("themisgate.websocket")

BROADCAST = "b"
PERSONAL = "p"


class Envelope(msgspec.Struct, array_like=True, frozen=True):
    """What travels between instances: who sent it (to skip our own), to whom, the frame."""

    origin: str
    kind: str
    type: str
    frame: msgspec.Raw
    to: str | None = None


_encode_envelope = msgspec.json.Encoder().encode
_decode_envelope = msgspec.json.Decoder(Envelope).decode
_encode_frame = msgspec.json.Encoder().encode


class Hub:
    def __init__(
        self, instance: str, bus: Bus, max_per_identity: int, *, announce: bool = True
    ) -> None:
        self.instance = instance
        self.bus = bus
        self.max_per_identity = max_per_identity
        self.announce = announce
        # every open connection (all endpoints), for heartbeats, idle checks and limits
        self.connections: set[Connection] = set()
        # connections of the messaging endpoint, which get broadcasts
        self.sessions: set[Connection] = set()
        self.clients: dict[str, set[Connection]] = {}
        self._owners: dict[str, str] = {}
        self._per_identity: dict[str, int] = {}
        self.dropped_slow = 0
        self.delivered = 0

    # --- admission --------------------------------------------------------------------------

    def dropped(self) -> None:
        """A connection was dropped for not reading (its queue was full)."""
        self.dropped_slow += 1
        log.info("websocket client dropped for not reading", dropped_so_far=self.dropped_slow)

    def has_room(self, identity_key: str) -> bool:
        return self._per_identity.get(identity_key, 0) < self.max_per_identity

    def owner_of(self, client_id: str) -> str | None:
        return self._owners.get(client_id)

    def add(self, connection: Connection) -> None:
        self.connections.add(connection)
        key = connection.identity.key
        self._per_identity[key] = self._per_identity.get(key, 0) + 1

    def remove(self, connection: Connection) -> None:
        if connection not in self.connections:
            return
        self.connections.discard(connection)
        key = connection.identity.key
        left = self._per_identity.get(key, 1) - 1
        if left > 0:
            self._per_identity[key] = left
        else:
            self._per_identity.pop(key, None)

    # --- clients of the messaging endpoint ----------------------------------------------------

    async def join(self, connection: Connection) -> None:
        client_id = connection.client_id
        self.sessions.add(connection)
        holders = self.clients.get(client_id)
        if holders is None:
            self.clients[client_id] = {connection}
            self._owners[client_id] = connection.identity.key
            await self.bus.joined(client_id)
        else:
            holders.add(connection)

    async def leave(self, connection: Connection) -> None:
        """Forget a closed connection; if it was its client's last one anywhere, tell
        everyone."""
        self.sessions.discard(connection)
        client_id = connection.client_id
        holders = self.clients.get(client_id)
        if holders is None or connection not in holders:
            return
        holders.discard(connection)
        if holders:
            return
        del self.clients[client_id]
        self._owners.pop(client_id, None)
        gone = await self.bus.left(client_id)
        if client_id in self.clients:  # it came back while we asked
            await self.bus.joined(client_id)
            return
        if gone and self.announce:
            await self.broadcast(UserDisconnected(client_id=client_id), "user_disconnected")

    def local_clients(self) -> Iterable[str]:
        return tuple(self.clients)

    # --- delivery -------------------------------------------------------------------------------

    async def broadcast(self, frame: Frame, kind: str) -> int:
        """To every client on every instance; returns how many local connections took it."""
        raw = _encode_frame(frame)
        delivered = self._deliver(kind, raw.decode(), None)
        await self.bus.publish(
            _encode_envelope(Envelope(self.instance, BROADCAST, kind, msgspec.Raw(raw)))
        )
        return delivered

    async def send_to(self, client_id: str, frame: Frame, kind: str) -> int:
        """To every connection of `client_id` on every instance."""
        raw = _encode_frame(frame)
        delivered = self._deliver(kind, raw.decode(), client_id)
        await self.bus.publish(
            _encode_envelope(Envelope(self.instance, PERSONAL, kind, msgspec.Raw(raw), client_id))
        )
        return delivered

    def on_bus_message(self, payload: bytes) -> None:
        """A frame another instance published: deliver it to our own clients."""
        try:
            envelope = _decode_envelope(payload)
        except msgspec.DecodeError:
            log.warning("websocket bus: ignored a message that is not an envelope")
            return
        if envelope.origin == self.instance:
            return
        text = bytes(envelope.frame).decode()
        self._deliver(envelope.type, text, envelope.to if envelope.kind == PERSONAL else None)

    def _deliver(self, kind: str, text: str, to: str | None) -> int:
        targets = self.sessions if to is None else self.clients.get(to, ())
        delivered = 0
        for connection in tuple(targets):
            if connection.offer(kind, text):
                delivered += 1
        self.delivered += delivered
        return delivered

    # --- upkeep (one task for all connections) ------------------------------------------------

    def heartbeat(self) -> None:
        text = heartbeat_text()
        for connection in tuple(self.connections):
            connection.offer("heartbeat", text)

    def close_idle(self, idle_seconds: float, on_idle: Any) -> None:
        cutoff = time.monotonic() - idle_seconds
        for connection in tuple(self.connections):
            if connection.last_seen < cutoff and not connection.closing:
                on_idle(connection)

    def facts(self) -> dict[str, Any]:
        by_endpoint: dict[str, int] = {}
        queued = 0
        for connection in self.connections:
            by_endpoint[connection.endpoint] = by_endpoint.get(connection.endpoint, 0) + 1
            queued += connection.queued
        return {
            "instance": self.instance,
            "connections": len(self.connections),
            "clients": len(self.clients),
            "by_endpoint": by_endpoint,
            "queued_frames": queued,
            "dropped_slow_consumers": self.dropped_slow,
            "delivered": self.delivered,
            "bus": self.bus.kind,
        }


def broadcast_frame(sender: str, message: msgspec.Raw) -> BroadcastFrame:
    return BroadcastFrame(sender=sender, message=message)


def personal_frame(sender: str, message: msgspec.Raw) -> PersonalFrame:
    return PersonalFrame(sender=sender, message=message)
