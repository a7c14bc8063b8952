"""API keys: made here, stored only as hashes, looked up in one dictionary access.

Why SHA-256 and not bcrypt or argon2: those are for passwords, which are short and
guessable, so each guess must be made expensive. A key made by `new_key()` carries 256
random bits; nobody can enumerate that space whatever the hash costs, so a fast hash loses
nothing, and it keeps the per-request cost at about a microsecond instead of the 50-500 ms
a password hash is tuned to take — which on every request would itself be a denial of
service. The same argument is why `hash-key` refuses short keys.

Why the lookup is safe against timing: the dictionary is keyed by the digest of what the
caller sent, so how long a lookup takes depends on a SHA-256 output the caller cannot steer
bit by bit; the final `hmac.compare_digest` makes the accepting comparison constant-time
as well.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import NamedTuple

from themisgate import Identity

from .config import ApiKey

KEY_PREFIX = "tgk_"
HASH_PREFIX = "sha256:"
MIN_KEY_LENGTH = 24


def new_key() -> str:
    """A fresh key: a recognisable prefix (secret scanners, log greps) and 32 random bytes."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str | bytes) -> str:
    """What `[[plugins.auth.api_keys]] hash` holds for `key`."""
    raw = key.encode() if isinstance(key, str) else key
    return HASH_PREFIX + hashlib.sha256(raw).hexdigest()


class KnownKey(NamedTuple):
    id: str
    digest: bytes
    identity: Identity
    revoked: bool


class KeyRing:
    """The configured keys by digest; identities are built once, at start-up."""

    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self._by_digest: dict[bytes, KnownKey] = {}
        for key in keys:
            digest = bytes.fromhex(key.hash.removeprefix(HASH_PREFIX))
            identity = Identity("api_key", key.id, key.tier, frozenset(key.scopes))
            self._by_digest[digest] = KnownKey(key.id, digest, identity, key.revoked)

    def __len__(self) -> int:
        return len(self._by_digest)

    def lookup(self, presented: bytes) -> KnownKey | None:
        digest = hashlib.sha256(presented).digest()
        known = self._by_digest.get(digest)
        if known is None or not hmac.compare_digest(known.digest, digest):
            return None
        return known
