"""`observe_logs`: plugins see every record the server logs (structlog's and the standard
library's), redacted, without replacing the renderer; a failing listener breaks nothing."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import structlog

from themisgate import observe_logs
from themisgate.logs import configure_logging


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("info", "json", stream=stream)
    yield stream
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


def test_listeners_see_structlog_and_stdlib_records_redacted(log_stream: io.StringIO) -> None:
    seen: list[dict[str, Any]] = []
    stop = observe_logs(lambda record: seen.append(dict(record)))
    try:
        structlog.get_logger("t").warning("disk low", free_mb=12, api_key="k-123")
        logging.getLogger("lib").error("failed %s", "twice")
        structlog.get_logger("t").debug("below the level")
    finally:
        stop()
    structlog.get_logger("t").warning("after stop")

    assert [r["event"] for r in seen] == ["disk low", "failed twice"]
    assert seen[0]["level"] == "warning"
    assert seen[0]["free_mb"] == 12
    assert seen[0]["api_key"] != "k-123"
    assert seen[1]["logger"] == "lib"
    # the renderer still wrote every line
    lines = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["disk low", "failed twice", "after stop"]


def test_a_failing_listener_breaks_neither_logging_nor_other_listeners(
    log_stream: io.StringIO,
) -> None:
    seen: list[str] = []

    def broken(record: Mapping[str, Any]) -> None:
        raise RuntimeError("listener bug")

    stops = [observe_logs(broken), observe_logs(lambda record: seen.append(record["event"]))]
    try:
        structlog.get_logger("t").info("still logged")
    finally:
        for stop in stops:
            stop()
    assert seen == ["still logged"]
    assert "still logged" in log_stream.getvalue()
