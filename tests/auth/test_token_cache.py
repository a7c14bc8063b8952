"""The decoded-token cache never outlives a token, and never grows past its size."""

from __future__ import annotations

from themisgate import Identity
from themisgate_auth.tokencache import TokenCache

ALICE = Identity("user", "alice", "premium", frozenset({"read"}))


def test_an_entry_ends_with_the_token_when_that_comes_first() -> None:
    cache = TokenCache(size=10, seconds=60)
    cache.put(b"t", ALICE, now=1000.0, expires=1010.0)
    assert cache.get(b"t", now=1009.9) is ALICE
    assert cache.get(b"t", now=1010.0) is None
    assert len(cache) == 0  # an ended entry is dropped when met


def test_an_entry_ends_with_the_ttl_when_that_comes_first() -> None:
    cache = TokenCache(size=10, seconds=60)
    cache.put(b"t", ALICE, now=1000.0, expires=5000.0)
    assert cache.get(b"t", now=1059.0) is ALICE
    assert cache.get(b"t", now=1060.0) is None


def test_an_already_expired_token_is_not_kept() -> None:
    cache = TokenCache(size=10, seconds=60)
    cache.put(b"t", ALICE, now=1000.0, expires=999.0)
    assert len(cache) == 0


def test_a_full_cache_drops_the_oldest_entry() -> None:
    cache = TokenCache(size=3, seconds=60)
    for name in (b"a", b"b", b"c", b"d"):
        cache.put(name, ALICE, now=1000.0, expires=None)
    assert len(cache) == 3
    assert cache.get(b"a", now=1001.0) is None
    assert cache.get(b"d", now=1001.0) is ALICE


def test_size_zero_turns_it_off() -> None:
    assert not TokenCache(size=0, seconds=60).enabled
    assert not TokenCache(size=10, seconds=0).enabled
