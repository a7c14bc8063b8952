"""Schemathesis against the served OpenAPI documents of a real server process: for a
bounded number of generated requests per operation, no 5xx, and every response matches
its documented status codes, content types and schemas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.support.processes import ServerProcess, themisgate

EXAMPLES_PER_OPERATION = 30


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    work: Path = tmp_path_factory.mktemp("fuzz")
    process = themisgate(work, f'[core.themis]\npath = "{work / "themis.sqlite"}"\n').start()
    yield process
    process.stop()


def fuzz(url: str) -> list[str]:
    """Run every operation of the document at `url`; return one line per failure."""
    schema = schemathesis.openapi.from_url(url)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            # A schema-valid body can still be refused with a 4xx problem: a search with
            # neither `query` nor `vector`, a vector of another dimension than the index's.
            # JSON Schema cannot say those, so "valid data must be accepted" does not hold.
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        try:
            check()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {exc}")
    assert operations > 0, f"no operations in {url}"
    return failures


def test_v4_never_fails_and_matches_its_schema(server: ServerProcess) -> None:
    failures = fuzz(f"{server.url}/api/v4/openapi.json")
    assert not failures, "\n\n".join(failures)
