"""Two `themisgate serve` processes sharing one Redis enforce one global limit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.processes import ServerProcess, themisgate


@pytest.fixture
def two_servers(tmp_path: Path, prefix: str) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    servers = []
    try:
        for name in ("a", "b"):
            cwd = tmp_path / name
            cwd.mkdir()
            settings = (
                f'[core.themis]\npath = "{cwd / "themis.db"}"\n'
                "[plugins.ratelimit]\n"
                'storage = "redis://127.0.0.1:6379/0"\n'
                f'key_prefix = "{prefix}"\n'
                'default = "10/hour"\n'
            )
            servers.append(themisgate(cwd, settings).start())
        yield servers[0], servers[1]
    finally:
        for server in servers:
            server.stop()


def test_two_processes_sharing_redis_enforce_one_global_limit(
    two_servers: tuple[ServerProcess, ServerProcess],
) -> None:
    first, second = two_servers
    assert first.url != second.url
    answers = []
    with httpx.Client(timeout=10) as client:
        for n in range(16):
            server = (first, second)[n % 2]
            answers.append(client.get(server.url + "/api/v4/themis/stats"))
    assert [a.status_code for a in answers] == [200] * 10 + [429] * 6, first.output()
    # each process saw the other's requests: the remaining count fell by one each time
    assert [a.headers["ratelimit"] for a in answers[:10]] == [
        f'"default";r={left};t=360' for left in range(9, -1, -1)
    ]
    assert answers[-1].json()["error"] == "rate_limit_exceeded"
