"""Fuzzing a served OpenAPI document with schemathesis, shared by the v4 and v3 suites."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

EXAMPLES_PER_OPERATION = 30


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
