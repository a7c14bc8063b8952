"""Who an anonymous caller is: its address, as far as it can be trusted.

The direct peer (the socket's address) is the only fact nobody can forge. A proxy's
`X-Forwarded-For` or `Forwarded` header is believed only when the peer is one of the
configured `trusted_proxies`, and then it is read from the right: each trusted proxy
appends the address it saw, so the right-most address that is *not* a trusted proxy is
the client. The left-most is whatever the client chose to send and is never believed.

Parsing is cached per distinct string, so the steady state costs a few dictionary
lookups; the caches are bounded, so a flood of distinct addresses cannot grow them.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Sequence

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_CACHE_SIZE = 8192


def parse_address(text: str) -> Address | None:
    """An address as proxies write it: `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`,
    `[2001:db8::1]:80`, quoted or not; None for `unknown`, obfuscated names or garbage.
    IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is the IPv4 address."""
    text = text.strip().strip('"')
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        text = text[1:end]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def forwarded_for(values: Iterable[str]) -> list[str]:
    """The `for=` of each element of RFC 7239 `Forwarded` headers, in order; an element
    without one is kept as an empty string (it breaks the chain of trust)."""
    found = []
    for value in values:
        for element in value.split(","):
            hop = ""
            for pair in element.split(";"):
                name, _, content = pair.partition("=")
                if name.strip().lower() == "for":
                    hop = content.strip()
                    break
            found.append(hop)
    return found


def listed(values: Iterable[str]) -> list[str]:
    """The addresses of `X-Forwarded-For`-style headers, in order."""
    return [hop for value in values for hop in value.split(",")]


class ClientAddress:
    def __init__(self, trusted_proxies: Sequence[str], header: str, ipv6_prefix: int) -> None:
        self.networks = tuple(ipaddress.ip_network(cidr) for cidr in trusted_proxies)
        self.header = header.lower().encode("latin-1")
        self._split = forwarded_for if header.lower() == "forwarded" else listed
        self._ipv6_prefix = ipv6_prefix
        self._parse = functools.lru_cache(_CACHE_SIZE)(parse_address)
        self._trusted_peer = functools.lru_cache(_CACHE_SIZE)(self._is_trusted_peer)
        self._identity_of = functools.lru_cache(_CACHE_SIZE)(self._identity_of_uncached)

    @property
    def trusts_anyone(self) -> bool:
        return bool(self.networks)

    def is_trusted(self, address: Address) -> bool:
        return any(address in network for network in self.networks)

    def _is_trusted_peer(self, peer: str) -> bool:
        address = self._parse(peer)
        return address is not None and self.is_trusted(address)

    def client(self, peer: str | None, forwarded: Sequence[bytes]) -> str:
        """The caller's identity id: its address (IPv6: its prefix), read from the
        forwarding header only when `peer` is a trusted proxy."""
        if peer is None:
            return "unknown"
        if not forwarded or not self.networks or not self._trusted_peer(peer):
            return self._identity_of(peer)
        nearest = peer  # the closest hop known to be honest so far
        for hop in reversed(self._split(v.decode("latin-1") for v in forwarded)):
            address = self._parse(hop)
            if address is None:
                # `unknown`, an obfuscated name or garbage: nothing further left can be
                # believed, and the trusted proxy that wrote it is the best we know
                return self._identity_of(nearest)
            if not self.is_trusted(address):
                return self._identity_of(str(address))
            nearest = str(address)
        return self._identity_of(nearest)  # every hop is a trusted proxy

    def _identity_of_uncached(self, peer: str) -> str:
        address = self._parse(peer)
        if address is None:
            return peer  # not an IP (a test client, a Unix socket): the name is the id
        if isinstance(address, ipaddress.IPv6Address) and self._ipv6_prefix < 128:
            network = ipaddress.IPv6Network((address, self._ipv6_prefix), strict=False)
            return str(network)
        return str(address)
