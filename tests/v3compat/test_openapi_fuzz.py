"""Schemathesis against the v3 OpenAPI document of a real server process: the v3
translations never answer 5xx and every answer matches what the v3 document says."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fuzz import fuzz
from tests.support.processes import ServerProcess, themisgate

# a sunset far away, so the fuzzing exercises the translations rather than the 410
SETTINGS = """
[core.themis]
path = "{path}"

[plugins.v3compat]
sunset_date = 2099-12-31
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    work: Path = tmp_path_factory.mktemp("v3fuzz")
    process = themisgate(work, SETTINGS.format(path=work / "themis.sqlite")).start()
    yield process
    process.stop()


def test_v3_never_fails_and_matches_its_schema(server: ServerProcess) -> None:
    failures = fuzz(f"{server.url}/api/v3/openapi.json")
    assert not failures, "\n\n".join(failures)
