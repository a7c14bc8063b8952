"""The `themisgate` command line, as an operator runs it."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from tests.support.processes import THEMISGATE, ServerProcess, free_port, running
from themisgate.cli import cli


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plugins.toml"
    path.write_text(text)
    return path


def test_config_check_passes_and_fails_with_one_line_per_problem(tmp_path: Path) -> None:
    runner = CliRunner()
    good = write(tmp_path, '[core.themis]\npath = ":memory:"\n[plugins.hello]\ngreeting = "Hi"\n')
    result = runner.invoke(cli, ["config", "check", str(good)])
    assert result.exit_code == 0, result.output
    assert "OK (plugins: hello)" in result.output

    bad = tmp_path / "bad.toml"
    bad.write_text('[core]\nport = "x"\n[plugins.hello]\ngreting = "Hi"\n[plugins.nope]\n')
    result = runner.invoke(cli, ["config", "check", str(bad)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines == [f"{bad}: [core] port: expected int; found 'x'"]

    bad.write_text('[plugins.hello]\ngreting = "Hi"\n[plugins.nope]\n')
    result = runner.invoke(cli, ["config", "check", str(bad)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 2
    assert any(
        "[plugins.hello] greting: unknown key; did you mean 'greeting'?" in line for line in lines
    )
    assert any("[plugins.nope]: plugin 'nope' is not installed" in line for line in lines)


def test_config_show_redacts_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THEMIS_TOKEN_FOR_TEST", "the-real-token")
    path = write(
        tmp_path,
        '[core.themis]\ntoken = { env = "THEMIS_TOKEN_FOR_TEST" }\n'
        '[core.themis.embedder]\napi_key = "inline-key"\n',
    )
    result = CliRunner().invoke(cli, ["config", "show", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "the-real-token" not in result.output
    assert "inline-key" not in result.output
    shown = json.loads(result.output)
    assert shown["core"]["themis"]["token"] == "******** (env:THEMIS_TOKEN_FOR_TEST)"


def test_plugins_list_json_shows_installed_and_enabled(tmp_path: Path) -> None:
    path = write(tmp_path, "[plugins.hello]\nenabled = false\n[plugins.missing]\n")
    result = CliRunner().invoke(cli, ["plugins", "list", "--json", "--config", str(path)])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["hello"]["installed"] is True
    assert rows["hello"]["enabled"] is False
    assert rows["hello"]["distribution"] == "themisgate-hello"
    assert rows["missing"]["installed"] is False


def test_serve_with_two_workers_answers_from_two_processes(tmp_path: Path) -> None:
    port = free_port()
    write(tmp_path, f'[core]\nport = {port}\n[core.themis]\npath = "{tmp_path / "db.sqlite"}"\n')
    server = ServerProcess([*THEMISGATE, "serve", "--workers", "2"], port, tmp_path)
    with running(server):
        pids = set()
        deadline = time.monotonic() + 30
        while len(pids) < 2 and time.monotonic() < deadline:
            # a new connection each time, so the kernel may hand it to either worker
            with httpx.Client(timeout=2) as client:
                pids.add(client.get(f"{server.url}/health").json()["pid"])
        supervisor = server.process.pid if server.process else None
    assert len(pids) == 2
    assert supervisor not in pids  # the supervisor does not serve; its workers do


def test_serve_refuses_bad_settings_with_the_problem(tmp_path: Path) -> None:
    write(tmp_path, "[core]\nworkers = 0\n")
    done = subprocess.run(
        [*THEMISGATE, "serve"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "plugins.toml: [core] workers: expected int >= 1; found 0" in done.stderr


def test_plugin_adds_a_cli_command(tmp_path: Path) -> None:
    write(tmp_path, "[plugins.hello]\n")
    done = subprocess.run(
        [*THEMISGATE, "hello", "operator"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Hello, operator!"
