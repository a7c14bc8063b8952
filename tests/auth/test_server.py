"""The plugin as an operator meets it: enabled in plugins.toml (loaded through its entry
point), keys made with `themisgate auth new-key`, a real server process, real sockets."""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import httpx

from tests.support.processes import THEMISGATE, running, themisgate
from themisgate_auth import hash_key

AUTH_TABLE = '[plugins.auth]\ntrusted_proxies = ["127.0.0.2/32"]\nanonymous_tier = "anonymous"\n'


def cli(cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*THEMISGATE, *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_new_key_prints_the_key_once_and_an_entry_holding_only_its_hash(tmp_path: Path) -> None:
    (tmp_path / "plugins.toml").write_text(AUTH_TABLE)
    made = cli(
        tmp_path, "auth", "new-key", "--tier", "premium", "--scopes", "read,write", "--id", "ci"
    )
    assert made.returncode == 0, made.stderr
    key = next(line.strip() for line in made.stdout.splitlines() if line.strip().startswith("tgk_"))
    table = made.stdout[made.stdout.index("[[plugins.auth.api_keys]]") :]
    entry = tomllib.loads(table)["plugins"]["auth"]["api_keys"][0]
    assert entry == {
        "id": "ci",
        "hash": hash_key(key),
        "tier": "premium",
        "scopes": ["read", "write"],
    }
    assert key not in table

    as_json = json.loads(cli(tmp_path, "auth", "new-key", "--tier", "free", "--json").stdout)
    assert as_json["hash"] == hash_key(as_json["key"])
    assert as_json["key"] != key


def test_hash_key_reads_the_key_from_stdin_and_refuses_short_ones(tmp_path: Path) -> None:
    (tmp_path / "plugins.toml").write_text(AUTH_TABLE)
    existing = "legacy-system-key-0123456789abcdef"
    hashed = cli(tmp_path, "auth", "hash-key", "--tier", "free", "--id", "legacy", stdin=existing)
    assert hashed.returncode == 0, hashed.stderr
    entry = tomllib.loads(hashed.stdout)["plugins"]["auth"]["api_keys"][0]
    assert entry["hash"] == hash_key(existing)
    short = cli(tmp_path, "auth", "hash-key", "--tier", "free", stdin="hunter2")
    assert short.returncode != 0
    assert "at least 24 characters" in short.stderr


def test_bad_scopes_on_the_command_line_are_refused(tmp_path: Path) -> None:
    (tmp_path / "plugins.toml").write_text(AUTH_TABLE)
    made = cli(tmp_path, "auth", "new-key", "--tier", "free", "--scopes", "read,sudo")
    assert made.returncode != 0
    assert "--scopes" in made.stderr


def request(url: str, source: str, method: str = "GET", **kwargs: Any) -> httpx.Response:
    with httpx.Client(transport=httpx.HTTPTransport(local_address=source), base_url=url) as c:
        return c.request(method, "/api/v4/themis/documents/books/b1", **kwargs)


def test_a_server_with_a_new_key_and_a_trusted_proxy(tmp_path: Path) -> None:
    (tmp_path / "plugins.toml").write_text(AUTH_TABLE)  # `auth` commands need the plugin on
    made = json.loads(
        cli(
            tmp_path, "auth", "new-key", "--tier", "premium", "--scopes", "read,write", "--json"
        ).stdout
    )
    server = themisgate(tmp_path, AUTH_TABLE + made["settings"])
    assert cli(tmp_path, "config", "check").returncode == 0

    with running(server):
        written = request(
            server.url, "127.0.0.1", "PUT", json={"t": 1}, headers={"X-API-Key": made["key"]}
        )
        anonymous = request(server.url, "127.0.0.1", "PUT", json={"t": 1})
        # invented keys: refused, and logged with the client address as far as it is trusted
        spoofed = request(
            server.url,
            "127.0.0.3",
            headers={"X-API-Key": "tgk_invented-1", "X-Forwarded-For": "203.0.113.1"},
        )
        proxied = request(
            server.url,
            "127.0.0.2",
            headers={"X-API-Key": "tgk_invented-2", "X-Forwarded-For": "203.0.113.2"},
        )
    assert written.status_code == 200, written.text
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="themisgate", scope="write"'
    assert spoofed.status_code == proxied.status_code == 401

    lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    failures = [line for line in lines if line.get("event") == "authentication failed"]
    assert [line["client"] for line in failures] == ["127.0.0.3", "203.0.113.2"]
    assert made["key"] not in server.output()
