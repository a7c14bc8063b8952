"""`themisgate load`: documents from JSON Lines, embedded and searchable; bad lines named."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from click.testing import CliRunner
from litestar.testing import AsyncTestClient

from themisgate import create_app, load_settings
from themisgate.cli import cli

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample-data" / "articles.jsonl"


def config(tmp_path: Path) -> Path:
    path = tmp_path / "plugins.toml"
    path.write_text(
        f'[core]\naccess_log = false\n[core.themis]\npath = "{tmp_path / "db.sqlite"}"\n'
    )
    return path


async def test_sample_data_loads_and_the_first_search_is_meaningful(tmp_path: Path) -> None:
    settings_file = config(tmp_path)
    args = ["load", str(SAMPLE), "--collection", "articles", "--config", str(settings_file)]
    # the command runs its own event loop, so it runs beside this test's
    result = await asyncio.to_thread(CliRunner().invoke, cli, args)
    assert result.exit_code == 0, result.output
    assert "loaded 30 documents into 'articles'" in result.output
    assert "skipped 0 bad lines" in result.output

    app = create_app(load_settings(settings_file, environ={}), configure_logs=False)
    async with AsyncTestClient(app=app) as client:
        response = await client.post(
            "/api/v4/themis/vectors/search",
            json={
                "collection": "articles",
                "query": "how do solar panels make electricity",
                "top_k": 3,
            },
        )
    top = response.json()["results"]
    assert top[0]["id"] == "solar-panels"
    assert top[0]["document"]["category"] == "energy"


def test_bad_lines_are_reported_with_numbers_and_skipped_or_abort(tmp_path: Path) -> None:
    data = tmp_path / "mixed.jsonl"
    shutil.copy(SAMPLE, data)
    with data.open("a") as f:
        f.write(
            'not json\n["a list"]\n{"id": "no-text"}\n{"id": "ok-1", "text": "last good line"}\n'
        )
    settings_file = config(tmp_path)
    runner = CliRunner()
    skipped = runner.invoke(
        cli, ["load", str(data), "--collection", "c", "--config", str(settings_file)]
    )
    assert skipped.exit_code == 0, skipped.output
    assert "loaded 31 documents" in skipped.output
    assert f"{data}:31: skipped: not JSON" in skipped.output
    assert f"{data}:32: skipped: not a JSON object" in skipped.output
    assert f"{data}:33: skipped: no 'text' text to embed" in skipped.output

    aborted = runner.invoke(
        cli,
        [
            "load",
            str(data),
            "--collection",
            "d",
            "--on-error",
            "abort",
            "--config",
            str(settings_file),
        ],
    )
    assert aborted.exit_code == 1
    assert f"{data}:31: not JSON" in aborted.output
    assert "(load stopped)" in aborted.output
