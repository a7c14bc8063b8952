"""`ENABLE_METRICS` switches the plugin off: no endpoint, no middleware, no families."""

from __future__ import annotations

from pathlib import Path

import pytest

import themisgate_metrics
from themisgate import ConfigError
from themisgate.testing import make_app, plugin_client
from themisgate_metrics.http import HttpMetricsMiddleware


def layers(app: object) -> list[type]:
    found = []
    handler = getattr(app, "asgi_handler", None)
    while handler is not None:
        found.append(type(handler))
        handler = getattr(handler, "app", None)
    return found


async def test_metrics_off_leaves_no_endpoint_and_no_middleware(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENABLE_METRICS", "false")
    app = make_app(themisgate_metrics)
    assert HttpMetricsMiddleware not in layers(app)
    async with plugin_client(themisgate_metrics) as client:
        await client.get("/health")
        response = await client.get("/metrics")
        listing = (await client.get("/-/plugins")).json()
    assert response.status_code == 404
    assert "metrics" in {p["name"] for p in listing["enabled"]}  # loaded, but switched off


async def test_metrics_on_by_default_and_with_true(monkeypatch: pytest.MonkeyPatch) -> None:
    assert HttpMetricsMiddleware in layers(make_app(themisgate_metrics))
    monkeypatch.setenv("ENABLE_METRICS", "TRUE")
    async with plugin_client(themisgate_metrics) as client:
        assert (await client.get("/metrics")).status_code == 200


def test_a_value_that_is_not_a_boolean_stops_start_up_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENABLE_METRICS", "maybe")
    with pytest.raises(ConfigError) as raised:
        make_app(themisgate_metrics)
    assert str(raised.value) == (
        "environment variable ENABLE_METRICS: [plugins.metrics]: "
        "expected true or false; found 'maybe'"
    )


def test_bad_settings_name_the_key() -> None:
    settings = {"plugins": {"metrics": {"path": "metrics", "max_series_per_metric": 1}}}
    with pytest.raises(ConfigError) as raised:
        make_app(themisgate_metrics, settings=settings)
    message = str(raised.value)
    assert "[plugins.metrics] path:" in message
    assert "[plugins.metrics] max_series_per_metric: expected int >= 10; found 1" in message


def test_an_unusable_multiprocess_directory_stops_start_up(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    settings = {"plugins": {"metrics": {"multiprocess_dir": str(blocker / "metrics")}}}
    with pytest.raises(ConfigError) as raised:
        make_app(themisgate_metrics, settings=settings)
    assert "[plugins.metrics] multiprocess_dir: cannot prepare the multiprocess directory" in str(
        raised.value
    )
