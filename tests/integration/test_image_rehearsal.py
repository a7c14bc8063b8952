"""The container image, rehearsed without a container engine: the Dockerfile's own steps,
read from the file, run on this machine.

The build stage's `COPY` lines pick the sources and its `uv sync` line installs the runtime
packages from the lock file (`--locked` fails if uv.lock is stale, `--no-dev` leaves out
every test tool, so an import that only the dev tools satisfied shows up here). The server
then starts from that environment with the image's `ENV` and `CMD`, on the settings the
image ships (deploy/plugins.toml, every plugin on), pointed at local Redis and themis-lite
the way an operator overrides them, and the image's `HEALTHCHECK` command must pass.
What this cannot see: the base image and `useradd`, which need an engine.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support.processes import ServerProcess, free_port, running, themis_lite
from tests.support.redis import shared_redis_client

ROOT = Path(__file__).resolve().parents[2]


class Stage:
    def __init__(self) -> None:
        self.env: dict[str, str] = {}
        self.copies: list[tuple[str, str]] = []  # (sources, destination) from the context
        self.runs: list[str] = []
        self.healthcheck: list[str] = []
        self.cmd: list[str] = []
        self.expose: list[str] = []


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    joined = dockerfile.read_text().replace("\\\n", " ")
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def stages(dockerfile: Path) -> list[Stage]:
    parsed: list[Stage] = []
    for keyword, rest in instructions(dockerfile):
        if keyword == "FROM":
            parsed.append(Stage())
            continue
        stage = parsed[-1]
        if keyword == "ENV":
            for pair in shlex.split(rest):
                name, _, value = pair.partition("=")
                stage.env[name] = value
        elif keyword == "COPY" and not rest.startswith("--from"):
            *sources, destination = rest.split()
            stage.copies += [(source, destination) for source in sources]
        elif keyword == "RUN":
            stage.runs.append(rest)
        elif keyword == "HEALTHCHECK":
            stage.healthcheck = json.loads(rest[rest.index("CMD") + 3 :])
        elif keyword == "EXPOSE":
            stage.expose += rest.split()
        elif keyword == "CMD":
            stage.cmd = json.loads(rest)
    return parsed


def test_the_dockerfile_builds_and_serves_from_the_lock_file(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv is not on PATH; the image is built with it (pip install uv)")
    build, final = stages(ROOT / "Dockerfile")
    sync = next(run for run in build.runs if run.startswith("uv sync"))
    assert "--locked" in sync  # a stale uv.lock fails the build
    assert "--no-dev" in sync  # no test tools in the image

    source = tmp_path / "src"
    for name, destination in build.copies:
        target = source / (name if destination.endswith("/") or destination == "." else destination)
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target)
    environment = tmp_path / "opt"
    build_env = {
        **os.environ,
        **build.env,
        "UV_PROJECT_ENVIRONMENT": str(environment),
        "UV_COMPILE_BYTECODE": "0",  # the image compiles; here it would only cost time
        "UV_PYTHON": sys.executable,
    }
    build_env.pop("VIRTUAL_ENV", None)
    installed = subprocess.run(
        [uv, *shlex.split(sync)[1:]],
        cwd=source,
        env=build_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stderr
    assert not (environment / "bin" / "pytest").exists(), "dev tools leaked into the image"

    redis = shared_redis_client()
    prefix = f"test-image-{uuid.uuid4().hex[:12]}"
    lite = themis_lite(tmp_path, tmp_path / "themis.sqlite")
    port = free_port()
    image_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("THEMISGATE")},
        **final.env,
        # the image's PATH with its environment here and "$PATH" as the base image's
        "PATH": final.env["PATH"]
        .replace("/opt/themisgate", str(environment))
        .replace("$PATH", os.environ.get("PATH", "")),
        "THEMISGATE_CONFIG": str(ROOT / "deploy" / "plugins.toml"),
        # what an operator running the image outside compose would override
        "THEMISGATE__CORE__HOST": "127.0.0.1",
        "THEMISGATE__CORE__PORT": str(port),
        "THEMISGATE__CORE__THEMIS__URL": lite.url,
        "THEMISGATE__PLUGINS__RATELIMIT__STORAGE": "redis://127.0.0.1:6379/0",
        "THEMISGATE__PLUGINS__RATELIMIT__KEY_PREFIX": prefix,
        "THEMISGATE__PLUGINS__WEBSOCKET__REDIS_URL": "redis://127.0.0.1:6379/0",
        "THEMISGATE__PLUGINS__WEBSOCKET__REDIS_PREFIX": prefix,
        "THEMISGATE__PLUGINS__TRACING__EXPORTER": "none",
    }
    image_env.pop("VIRTUAL_ENV", None)
    # the image listens on the port it exposes and its health check asks; here, a free one
    exposed = final.expose[0]
    assert f"port = {exposed}" in (ROOT / "deploy" / "plugins.toml").read_text()
    assert any(f"127.0.0.1:{exposed}/health" in part for part in final.healthcheck)
    healthcheck = [part.replace(f":{exposed}/", f":{port}/") for part in final.healthcheck]
    server = ImageServer(final.cmd, port, tmp_path, image_env)
    try:
        with running(lite), running(server):
            health = subprocess.run(
                healthcheck, env=image_env, cwd=tmp_path, timeout=10, capture_output=True
            )
            assert health.returncode == 0, health.stderr
            assert server.served_from(environment)
            ready = httpx.get(f"{server.url}/ready", timeout=10)
            assert ready.status_code == 200, ready.text
            listing = httpx.get(f"{server.url}/api", timeout=5)
            assert listing.json()["current"] == "v4"
    finally:
        for key in redis.scan_iter(match=f"{prefix}*", count=1000):
            redis.delete(key)


class ImageServer(ServerProcess):
    """The image's CMD, found on the image's PATH and run with the image's environment."""

    def __init__(self, cmd: list[str], port: int, cwd: Path, env: dict[str, str]) -> None:
        executable = shutil.which(cmd[0], path=env["PATH"])
        assert executable is not None, f"{cmd[0]} is not in the built environment"
        super().__init__([executable, *cmd[1:]], port, cwd, env=env)
        self.executable = executable

    def served_from(self, environment: Path) -> bool:
        return Path(self.executable).is_relative_to(environment)
