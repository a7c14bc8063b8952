"""The exchanges recorded from a real ThemisDB server, in the `shared/` folder beside the
repository (CI puts a copy there next to its fresh clone). Missing recordings fail the
test that needs them, saying so; they are never skipped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

# tests/support/<this file>: parents[2] is the repository root
VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "themisdb-vectors"
AS_RELEASED = "server-as-released.json"
AQL_FIXED = "server-aql-validator-fixed.json"
EXCHANGES = 114


def load_recording(name: str) -> list[dict[str, Any]]:
    path = VECTORS / name
    if not path.is_file():
        pytest.fail(
            f"recorded ThemisDB exchanges not found: {path} is missing. These tests need the "
            "folder shared/themisdb-vectors beside the repository's root folder.",
            pytrace=False,
        )
    entries: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    assert len(entries) == EXCHANGES, (
        f"{name} should hold {EXCHANGES} exchanges, not {len(entries)}"
    )
    return entries
