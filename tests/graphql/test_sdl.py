"""`docs/graphql/schema.graphql` is the schema the plugin serves: CI fails when it is out of
date. Regenerate it with

    themisgate graphql sdl --builtin-only > docs/graphql/schema.graphql
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.processes import THEMISGATE
from themisgate_graphql import Config, build_schema, sdl

ROOT = Path(__file__).resolve().parents[2]
CHECKED_IN = ROOT / "docs" / "graphql" / "schema.graphql"
REGENERATE = "themisgate graphql sdl --builtin-only > docs/graphql/schema.graphql"


def test_the_checked_in_sdl_is_the_schema_served() -> None:
    assert CHECKED_IN.read_text() == sdl(build_schema(Config())), (
        f"docs/graphql/schema.graphql is out of date; regenerate it: {REGENERATE}"
    )


def sdl_command(tmp_path: Path, *args: str, plugins: str = "") -> str:
    config = tmp_path / "plugins.toml"
    config.write_text(f'[core.themis]\npath = ":memory:"\n[plugins.graphql]\n{plugins}')
    done = subprocess.run(
        [*THEMISGATE, "graphql", "sdl", "--config", str(config), *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    return done.stdout


def test_the_sdl_command_prints_it_with_and_without_other_plugins_fields(tmp_path: Path) -> None:
    builtin = sdl_command(tmp_path, "--builtin-only", plugins="[plugins.hello]\n")
    served = sdl_command(tmp_path, plugins="[plugins.hello]\n")
    assert builtin == CHECKED_IN.read_text()
    assert "hello(name: String!): String!" in served
    assert "hello(" not in builtin
