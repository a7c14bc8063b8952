"""Bad settings stop start-up with one line per problem naming the table and the key;
rate strings are read in every documented form."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import msgspec
import pytest

import themisgate_ratelimit
from themisgate import ConfigError, Secret
from themisgate.testing import make_app
from themisgate_ratelimit import Config, Rate, RateError, RouteLimit, parse_rate

from .plugins import check_settings, settings


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("10/minute", Rate(10, 60)),
        ("10/second", Rate(10, 1)),
        ("1000/hour", Rate(1000, 3600)),
        ("5/day", Rate(5, 86400)),
        ("10 per minute", Rate(10, 60)),
        ("100/5 minutes", Rate(100, 300)),
        ("100/5m", Rate(100, 300)),
        ("3/s", Rate(3, 1)),
        ("60/minute burst 20", Rate(60, 60, 20)),
        ("  7 / Hours ", Rate(7, 3600)),
    ],
)
def test_rate_strings(text: str, rate: Rate) -> None:
    parsed = parse_rate(text)
    assert (parsed.count, parsed.period, parsed.burst) == (rate.count, rate.period, rate.burst)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("10/minit", "unknown time unit 'minit'"),
        ("10/ms", "unknown time unit 'ms'"),
        ("ten/minute", "cannot read 'ten/minute' as a rate"),
        ("0/minute", "allows nothing"),
        ("10/0 minutes", "allows nothing"),
        ("2000000/second", "faster than 1000000 per second"),
        ("10/minute burst 0", "burst"),
        ("10/month", "unknown time unit 'month'"),
    ],
)
def test_bad_rate_strings_say_what_to_write(text: str, says: str) -> None:
    with pytest.raises(RateError, match=says.replace("(", r"\(")):
        parse_rate(text)


def problems(**ratelimit: Any) -> str:
    with pytest.raises(ConfigError) as raised:
        check_settings(**ratelimit)
    return str(raised.value)


@pytest.mark.parametrize(
    ("ratelimit", "says"),
    [
        ({"default": "10/minit"}, "[plugins.ratelimit]: default: unknown time unit 'minit'"),
        ({"tiers": {"free": "x"}}, "tiers.free: cannot read 'x' as a rate"),
        ({"tiers": {"free": ["1/second", "60/second"]}}, "tiers.free: two rates with the same"),
        ({"surfaces": {"graphql": "5/fortnight"}}, "surfaces.graphql: unknown time unit"),
        (
            {"routes": [{"route": "/x", "limits": "1/eon"}]},
            "[plugins.ratelimit] routes[0]: route '/x' limits: unknown time unit 'eon'",
        ),
        ({"routes": [{"route": "x", "limits": "1/minute"}]}, "a route template starts with '/'"),
        ({"routes": [{"route": "/x"}]}, "route '/x': give limits (and/or tiers)"),
        (
            {"routes": [{"route": "/x", "limits": "1/minute", "methods": ["FETCH"]}]},
            "unknown HTTP method",
        ),
        (
            {
                "routes": [
                    {"route": "/x", "limits": "1/minute"},
                    {"route": "/x", "limits": "2/minute"},
                ]
            },
            "'/x' is listed twice for the same methods",
        ),
        (
            {
                "routes": [
                    {"route": "/x", "limits": "1/minute", "methods": ["PUT"]},
                    {"route": "/x", "limits": "2/minute"},
                ]
            },
            "'/x' is listed twice for the same methods",
        ),
        ({"storage": "memcached://x"}, "neither 'memory://' nor a Redis URL"),
        ({"storage": "redis://127.0.0.1:six/0"}, "the port in"),
        ({"storage": "redis://127.0.0.1:6379/zero"}, "the database in"),
        ({"allow_cidrs": ["10.0.0/8"]}, "allow_cidrs: '10.0.0/8' is not an IP network"),
        ({"allow_identities": ["alice"]}, "'alice' is not an identity key"),
        ({"key_prefix": "a{b}"}, "key_prefix: must be non-empty, without spaces or braces"),
        ({"exempt_paths": ["health"]}, "exempt_paths: 'health' must start with '/'"),
        ({"decision_timeout_ms": 0}, "decision_timeout_ms: expected int >= 1"),
        ({"max_keys": "many"}, "max_keys: expected int"),
        ({"limit": "10/minute"}, "limit: unknown key"),
    ],
)
def test_bad_settings_name_the_table_and_key(ratelimit: dict[str, Any], says: str) -> None:
    assert says in problems(**ratelimit)


def test_a_password_in_the_storage_url_is_refused_without_showing_it() -> None:
    message = problems(storage="redis://:hunter2@127.0.0.1:6379/0")
    assert "redis_password" in message
    assert "hunter2" not in message


def test_the_redis_password_is_a_secret_never_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_RL_REDIS_PASSWORD", "hunter2")
    app = make_app(
        themisgate_ratelimit,
        settings=settings(
            storage="redis://127.0.0.1:6379/0", redis_password={"env": "TEST_RL_REDIS_PASSWORD"}
        ),
    )
    (listing,) = [p for p in app.state["themisgate"].system.plugins if p["name"] == "ratelimit"]
    assert "hunter2" not in str(listing)
    config: Config = app.state["themisgate"].config("ratelimit")
    assert isinstance(config.redis_password, Secret)
    assert config.redis_password.reveal() == "hunter2"


def test_every_problem_is_reported_at_once() -> None:
    message = problems(default="1/eon", allow_cidrs=["nope"], storage="ftp://x")
    assert "default: unknown time unit 'eon'" in message
    assert "allow_cidrs: 'nope'" in message
    assert "storage: 'ftp://x'" in message


def test_the_defaults_are_valid_and_documented_values() -> None:
    config = Config()
    assert (config.storage, config.default, config.fail_open) == ("memory://", "60/minute", True)
    assert (config.decision_timeout_ms, config.max_keys) == (50, 100_000)
    assert config.exempt_paths == ["/health", "/ready", "/metrics"]


DOCS = Path(__file__).parents[2] / "docs" / "ratelimit.md"


def test_every_settings_example_in_the_docs_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_PASSWORD", "example")
    examples = re.findall(r"```toml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert len(examples) >= 2
    for example in examples:
        table = tomllib.loads(example)["plugins"]["ratelimit"]
        app = check_settings(**table)
        assert app.state["themisgate"].config("ratelimit") is not None


def test_every_setting_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for field in msgspec.structs.fields(Config):
        assert f"| `{field.name}` |" in text, field.name
    for field in msgspec.structs.fields(RouteLimit):
        assert f"| `{field.name}` |" in text, field.name
