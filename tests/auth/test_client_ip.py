"""The address of an anonymous caller: forwarding headers are believed only from trusted
proxies, and read from the right. Requests go over real sockets from distinct loopback
addresses (127.0.0.2 plays the proxy, 127.0.0.3 a client connecting directly)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

import themisgate_auth
from tests.support.processes import served as serving
from themisgate.testing import make_app
from themisgate_auth import parse_address

from .support import auth_settings, whoami_plugin

PROXY = "127.0.0.2"
DIRECT = "127.0.0.3"


@pytest.fixture
async def server() -> AsyncIterator[Any]:
    """Starts an app with the given auth settings; yields a function making clients."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(**settings: Any) -> str:
            app = make_app(themisgate_auth, whoami_plugin(), settings=auth_settings(**settings))
            return await stack.enter_async_context(serving(app))

        yield start


async def who(url: str, source: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    transport = httpx.AsyncHTTPTransport(local_address=source)
    async with httpx.AsyncClient(transport=transport, base_url=url) as client:
        response = await client.get("/whoami", headers=headers or {})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(server: Any) -> None:
    url = await server(trusted_proxies=[f"{PROXY}/32"])
    body = await who(url, DIRECT, {"X-Forwarded-For": "203.0.113.7"})
    assert body["kind"] == "ip"
    assert body["id"] == DIRECT


async def test_forwarded_for_from_a_trusted_proxy_names_the_client(server: Any) -> None:
    url = await server(trusted_proxies=[f"{PROXY}/32"])
    body = await who(url, PROXY, {"X-Forwarded-For": "203.0.113.7"})
    assert body["id"] == "203.0.113.7"


async def test_the_right_most_untrusted_address_wins_over_what_the_client_sent(
    server: Any,
) -> None:
    # the client sent "X-Forwarded-For: 198.51.100.1"; its proxy appended what it saw,
    # then an inner trusted proxy appended the outer one
    url = await server(trusted_proxies=[f"{PROXY}/32", "10.0.0.0/8"])
    chain = "198.51.100.1, 203.0.113.7, 10.1.2.3"
    body = await who(url, PROXY, {"X-Forwarded-For": chain})
    assert body["id"] == "203.0.113.7"


async def test_the_forwarded_header_is_read_when_configured(server: Any) -> None:
    url = await server(trusted_proxies=[f"{PROXY}/32"], client_ip_header="Forwarded")
    body = await who(
        url,
        PROXY,
        {
            "Forwarded": 'for=198.51.100.1, for="[2001:db8:cafe::17]:4711";proto=https',
            "X-Forwarded-For": "192.0.2.99",  # not the configured header: ignored
        },
    )
    assert body["id"] == "2001:db8:cafe::/64"


async def test_an_unreadable_hop_stops_at_the_trusted_proxy(server: Any) -> None:
    url = await server(trusted_proxies=[f"{PROXY}/32"])
    body = await who(url, PROXY, {"X-Forwarded-For": "198.51.100.1, unknown"})
    assert body["id"] == PROXY


async def test_without_trusted_proxies_headers_are_never_read(server: Any) -> None:
    url = await server(trusted_proxies=[])
    body = await who(url, PROXY, {"X-Forwarded-For": "203.0.113.7"})
    assert body["id"] == PROXY


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7:8080 ", "203.0.113.7"),
        ('"[2001:db8::1]:443"', "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("unknown", None),
        ("_hidden", None),
        ("[2001:db8::1", None),
        ("", None),
    ],
)
def test_addresses_are_read_as_proxies_write_them(text: str, expected: str | None) -> None:
    address = parse_address(text)
    assert (str(address) if address else None) == expected
