"""Several worker processes, one scrape: prometheus-client's multiprocess mode, set up
by itself.

Each worker writes its values to memory-mapped files in one directory and a scrape
merges them all. Three things make that correct, and this module does them:

- the directory must be known before prometheus-client makes its first value in the
  worker (it reads `PROMETHEUS_MULTIPROC_DIR` then), which is why nothing imports
  prometheus-client before `choose_directory()` has run;
- it must start empty with each server, or counters carry over from the last run: the
  directory is keyed by the supervisor's pid and its start time, so a new server gets a
  new one and the first worker of a server wipes what a dead one left;
- live gauges (requests in progress) of a worker that died must stop counting:
  `mark_process_dead` at worker shutdown, and for crashed workers at the next scrape.

Workers of `themisgate serve --workers N` (and of `--reload`) are started by uvicorn's
supervisor with multiprocessing's spawn: that is how a worker knows it is one, whichever
way N was given. Under another launcher (gunicorn forks), set PROMETHEUS_MULTIPROC_DIR
to an empty directory yourself; it is used as it is and never wiped.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import multiprocessing
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import structlog

from .config import Config

log = structlog.get_logger("themisgate.metrics")

ENV = "PROMETHEUS_MULTIPROC_DIR"
PREFIX = "themisgate-metrics-"
MARKER = "supervisor"
_PID_OF_FILE = re.compile(r"_(\d+)\.db$")
_SERVER_DIR = re.compile(re.escape(PREFIX) + r"(\d+)$")


def choose_directory(config: Config, environ: Mapping[str, str] | None = None) -> Path | None:
    """The multiprocess directory this process writes to, or None for one process.

    Sets `PROMETHEUS_MULTIPROC_DIR` when it picks one, so prometheus-client (imported
    after this) stores values there."""
    environ = os.environ if environ is None else environ
    if config.multiprocess == "off":
        return None
    given = environ.get(ENV)
    if given:
        return Path(given)
    base = Path(config.multiprocess_dir or tempfile.gettempdir())
    supervisor = multiprocessing.parent_process()
    if supervisor is None or supervisor.pid is None:
        if config.multiprocess_dir:  # `serve` checks it before any worker starts
            _check_writable(base)
        return None
    directory = prepare(base, supervisor.pid)
    os.environ[ENV] = str(directory)
    return directory


def prepare(base: Path, supervisor: int) -> Path:
    """`base/themisgate-metrics-<supervisor pid>`, empty unless a sibling worker of the
    same supervisor already wrote to it; directories of dead supervisors are removed."""
    base.mkdir(parents=True, exist_ok=True)
    directory = base / f"{PREFIX}{supervisor}"
    identity = f"{supervisor} {_started(supervisor)}"
    with _locked(base / f"{PREFIX}lock"):
        _remove_dead_servers(base, keep=supervisor)
        marker = directory / MARKER
        try:
            current = marker.read_text()
        except OSError:
            current = None
        if current != identity:  # new, or left by an earlier server with a reused pid
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(mode=0o700)
            marker.write_text(identity)
    return directory


def _check_writable(base: Path) -> None:
    base.mkdir(parents=True, exist_ok=True)
    if not os.access(base, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, "not writable", str(base))


def mark_dead_workers(directory: Path, *, also: int | None = None) -> list[int]:
    """Drop the live gauges of every worker that no longer runs (and of `also`, a worker
    shutting down). Their counters and histograms stay: totals must not go down."""
    from prometheus_client import multiprocess

    dead = {pid for pid in _pids_with_files(directory) if not _alive(pid)}
    if also is not None:
        dead.add(also)
    for pid in dead:
        multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
    return sorted(dead)


def worker_pids(directory: Path, *, alive: bool = False) -> list[int]:
    """The workers that wrote to `directory` (only those still running, if `alive`)."""
    return sorted(pid for pid in _pids_with_files(directory) if not alive or _alive(pid))


def _pids_with_files(directory: Path) -> set[int]:
    pids = set()
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(directory):
            match = _PID_OF_FILE.search(entry.name)
            if match:
                pids.add(int(match[1]))
    return pids


def _remove_dead_servers(base: Path, keep: int) -> None:
    for entry in os.scandir(base):
        match = _SERVER_DIR.match(entry.name)
        if match and entry.is_dir() and int(match[1]) != keep and not _alive(int(match[1])):
            shutil.rmtree(entry.path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _started(pid: int) -> str:
    """When `pid` started (clock ticks since boot, Linux), telling a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock between workers starting at once."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
