"""Bad settings stop start-up with a line naming the file, the table and the key."""

from __future__ import annotations

from typing import Any

import pytest

import themisgate_v3compat
from themisgate import ConfigError
from themisgate.testing import make_app


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"sunset_date": "soon"}, "[plugins.v3compat] sunset_date: invalid"),
        ({"after_sunset": "keep"}, "[plugins.v3compat] after_sunset: invalid enum value 'keep'"),
        ({"migration_guide": "ftp://host/guide"}, "[plugins.v3compat] migration_guide:"),
        ({"migration_guide": "/guide with spaces"}, "[plugins.v3compat] migration_guide:"),
        ({"sunset_warning_days": 0}, "[plugins.v3compat] sunset_warning_days:"),
        ({"sunset_in": "2027-01-01"}, "unknown key; did you mean 'sunset_date'?"),
        (
            {"deprecation_date": "2027-01-01", "sunset_date": "2026-12-31"},
            "sunset_date 2026-12-31 is before deprecation_date 2027-01-01",
        ),
    ],
)
def test_bad_settings_are_named(options: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        make_app(themisgate_v3compat, settings={"plugins": {"v3compat": options}})
    assert expected in str(error.value)
