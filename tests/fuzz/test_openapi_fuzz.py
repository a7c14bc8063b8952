"""Schemathesis against the served OpenAPI documents of a real server process: for a
bounded number of generated requests per operation, no 5xx, and every response matches
its documented status codes, content types and schemas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fuzz import fuzz
from tests.support.processes import ServerProcess, themisgate


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    work: Path = tmp_path_factory.mktemp("fuzz")
    process = themisgate(work, f'[core.themis]\npath = "{work / "themis.sqlite"}"\n').start()
    yield process
    process.stop()


def test_v4_never_fails_and_matches_its_schema(server: ServerProcess) -> None:
    failures = fuzz(f"{server.url}/api/v4/openapi.json")
    assert not failures, "\n\n".join(failures)
