"""Several workers, one scrape: `themisgate serve --workers 2` sets up prometheus-client's
multiprocess mode by itself, and whichever worker answers a scrape reports what both
served. The directory's housekeeping is tested on its own below."""

from __future__ import annotations

import os
import subprocess
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.support.processes import THEMISGATE, ServerProcess, themisgate
from themisgate_metrics import workers

from .scrape import Scrape

COUNT = "http_server_request_duration_seconds_count"


@pytest.fixture
def server(tmp_path: Path) -> ServerProcess:
    settings = (
        f'[core.themis]\npath = "{tmp_path / "themis.sqlite"}"\n'
        f'[plugins.metrics]\nmultiprocess_dir = "{tmp_path / "prometheus"}"\n'
    )
    process = themisgate(tmp_path, settings)
    process.command = [*THEMISGATE, "serve", "--workers", "2"]
    return process


def api_count(found: Scrape) -> float:
    return found.value(
        COUNT,
        http_request_method="GET",
        http_route="/api",
        http_response_status_code="200",
    )


def test_a_scrape_sums_every_worker(server: ServerProcess, tmp_path: Path) -> None:
    server.start()
    try:
        served: Counter[int] = Counter()
        deadline = time.monotonic() + 60
        while len(served) < 2 or min(served.values()) < 3:
            assert time.monotonic() < deadline, (served, server.output())
            # a new connection each time, so the kernel may hand it to either worker
            with httpx.Client(base_url=server.url, timeout=10) as client:
                pid = client.get("/health").json()["pid"]
                assert client.get("/api").status_code == 200
            served[pid] += 1

        total = sum(served.values())
        scraped_by: dict[int, float] = {}
        # until each worker has answered a scrape with the total (a worker records a
        # request just after answering it, so the last one may lag by a moment)
        while set(scraped_by.values()) != {total} or len(scraped_by) < 2:
            assert time.monotonic() < deadline, (scraped_by, total, server.output())
            with httpx.Client(base_url=server.url, timeout=10) as client:
                pid = client.get("/health").json()["pid"]
                scraped_by[pid] = api_count(Scrape(client.get("/metrics").text))

        assert server.process is not None
        directory = tmp_path / "prometheus" / f"{workers.PREFIX}{server.process.pid}"
        assert set(workers.worker_pids(directory)) == set(served)
        checks = httpx.get(f"{server.url}/ready", timeout=10).json()["checks"]
        (status,) = [check for check in checks if check["name"] == "metrics"]
        assert status["facts"] == {
            "mode": "multiprocess",
            "directory": str(directory),
            "workers": 2,
        }
    finally:
        server.stop()

    assert scraped_by == {pid: total for pid in served}  # each worker reports both
    # stopped workers said goodbye: their requests are no longer in progress
    assert not list(directory.glob("gauge_live*"))


def test_a_new_server_starts_from_an_empty_directory(tmp_path: Path) -> None:
    supervisor = os.getpid()
    base = tmp_path / "prometheus"
    directory = workers.prepare(base, supervisor)
    (directory / "counter_123.db").write_bytes(b"from this server's first worker")
    assert workers.prepare(base, supervisor) == directory  # its second worker keeps it
    assert (directory / "counter_123.db").exists()

    # a directory left with the same pid by an earlier server (pid reuse) is wiped
    (directory / workers.MARKER).write_text(f"{supervisor} 1")
    workers.prepare(base, supervisor)
    assert not (directory / "counter_123.db").exists()


def test_directories_of_dead_servers_are_removed(tmp_path: Path) -> None:
    base = tmp_path / "prometheus"
    dead = base / f"{workers.PREFIX}{dead_pid()}"
    dead.mkdir(parents=True)
    (dead / "counter_1.db").write_bytes(b"stale")
    workers.prepare(base, os.getpid())
    assert not dead.exists()


def test_dead_workers_stop_counting_in_progress_but_keep_their_totals(tmp_path: Path) -> None:
    alive, gone = os.getpid(), dead_pid()
    for pid in (alive, gone):
        for name in (f"gauge_livesum_{pid}.db", f"counter_{pid}.db", f"histogram_{pid}.db"):
            (tmp_path / name).write_bytes(b"")
    assert workers.mark_dead_workers(tmp_path) == [gone]
    left = {p.name for p in tmp_path.iterdir()}
    assert f"gauge_livesum_{gone}.db" not in left
    assert {f"counter_{gone}.db", f"histogram_{gone}.db", f"gauge_livesum_{alive}.db"} <= left


def dead_pid() -> int:
    """A pid no process has: that of a child that has exited and been reaped."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid
