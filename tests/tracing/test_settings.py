"""Settings from `plugins.toml` and the standard OTEL_* variables: the file wins, the
environment fills in, and a bad value stops start-up naming where it came from."""

from __future__ import annotations

import sys

import pytest

import themisgate_tracing
from themisgate import ConfigError
from themisgate.testing import make_app
from themisgate_tracing import Config, resolve
from themisgate_tracing.resolve import core_version

ENVIRONMENT = {
    "OTEL_SERVICE_NAME": "from-env",
    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
    "OTEL_TRACES_SAMPLER_ARG": "0.25",
    "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod,team=search%20infra",
    "OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=abc%3D%3D,x-other=1",
    "OTEL_EXPORTER_OTLP_TIMEOUT": "2500",
    "OTEL_BSP_SCHEDULE_DELAY": "1000",
    "OTEL_BSP_MAX_QUEUE_SIZE": "100",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "50",
}


def test_defaults() -> None:
    settings = resolve(Config(), {})
    assert settings.exporter == "otlp"
    assert settings.protocol == "http/protobuf"
    assert settings.endpoint == "http://localhost:4318/v1/traces"
    assert settings.sampler == "parentbased_always_on"
    assert settings.resource == {"service.name": "themisgate", "service.version": core_version()}
    assert settings.exclude_paths == frozenset({"/health", "/ready", "/metrics"})
    assert settings.export_timeout == 10.0
    assert not settings.disabled


def test_the_standard_environment_variables_are_read() -> None:
    settings = resolve(Config(), ENVIRONMENT)
    assert settings.endpoint == "http://collector:4318/v1/traces"  # the base URL + signal path
    assert settings.sampler == "parentbased_traceidratio"
    assert settings.sampler_ratio == 0.25
    assert settings.resource["service.name"] == "from-env"
    assert settings.resource["deployment.environment"] == "prod"
    assert settings.resource["deployment.environment.name"] == "prod"
    assert settings.resource["team"] == "search infra"
    assert {k: v.reveal() for k, v in settings.headers.items()} == {
        "x-api-key": "abc==",
        "x-other": "1",
    }
    assert settings.export_timeout == 2.5  # the variable is in milliseconds
    assert settings.schedule_delay == 1.0
    assert (settings.max_queue_size, settings.max_export_batch_size) == (100, 50)


def test_plugins_toml_wins_over_the_environment() -> None:
    config = Config(
        service_name="from-file",
        endpoint="http://jaeger:4318",
        sampler="always_on",
        export_timeout=1.5,
        environment="staging",
    )
    settings = resolve(config, ENVIRONMENT)
    assert settings.resource["service.name"] == "from-file"
    assert settings.resource["deployment.environment"] == "staging"
    assert settings.endpoint == "http://jaeger:4318/v1/traces"
    assert settings.sampler == "always_on"
    assert settings.export_timeout == 1.5
    assert settings.sampler_ratio == 1.0  # the environment's ratio was for another sampler


def test_the_signal_specific_endpoint_is_used_as_it_is() -> None:
    environ = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://base:4318",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://traces.example/custom/path",
    }
    assert resolve(Config(), environ).endpoint == "https://traces.example/custom/path"
    full = Config(endpoint="http://jaeger:4318/v1/traces")
    assert resolve(full, {}).endpoint == "http://jaeger:4318/v1/traces"


def test_otel_sdk_disabled_turns_tracing_off() -> None:
    assert resolve(Config(), {"OTEL_SDK_DISABLED": "true"}).disabled


def problems_of(config: Config, environ: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        resolve(config, environ, lambda key: "plugins.toml")
    return [str(problem) for problem in caught.value.problems]


def test_bad_environment_values_name_the_variable_and_never_echo_header_values() -> None:
    problems = problems_of(
        Config(),
        {
            "OTEL_TRACES_EXPORTER": "jaeger",
            "OTEL_TRACES_SAMPLER": "sometimes",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318",
            "OTEL_EXPORTER_OTLP_HEADERS": "secret-token-without-a-name",
            "OTEL_BSP_MAX_QUEUE_SIZE": "lots",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "-5",
        },
    )
    text = "\n".join(problems)
    assert len(problems) == 6, text
    assert (
        "environment variable OTEL_TRACES_EXPORTER: [plugins.tracing] exporter: 'jaeger' is "
        "not supported: Jaeger and Zipkin both accept OTLP, use otlp"
    ) in problems
    assert "environment variable OTEL_TRACES_SAMPLER: [plugins.tracing] sampler:" in text
    assert "environment variable OTEL_EXPORTER_OTLP_ENDPOINT: [plugins.tracing] endpoint:" in text
    assert "environment variable OTEL_BSP_MAX_QUEUE_SIZE" in text
    assert "environment variable OTEL_EXPORTER_OTLP_TIMEOUT" in text
    assert "secret-token-without-a-name" not in text


def test_http_json_is_refused_with_the_alternatives() -> None:
    (problem,) = problems_of(Config(), {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"})
    assert "http/json is not supported; use http/protobuf or grpc" in problem


def test_a_bad_table_stops_start_up_naming_the_key() -> None:
    settings = {
        "plugins": {
            "tracing": {
                "endpoint": "jaeger:4318",
                "sampler_ratio": 2,
                "exporter": "zipkin",
                "trace_id_header": "X Trace",
                "exclude_paths": ["health"],
            }
        }
    }
    with pytest.raises(ConfigError) as caught:
        make_app(themisgate_tracing, settings=settings)
    keys = sorted(p.key or "" for p in caught.value.problems)
    assert keys == ["exporter", "sampler_ratio", "trace_id_header"], caught.value
    # the values that pass their type are checked next, once the types are right
    with pytest.raises(ConfigError) as caught:
        make_app(
            themisgate_tracing,
            settings={"plugins": {"tracing": {"endpoint": "jaeger:4318", "exclude_paths": ["x"]}}},
        )
    problems = [str(p) for p in caught.value.problems]
    assert any(
        "[plugins.tracing] endpoint: expected an http:// or https:// URL" in p for p in problems
    )
    assert any(
        "[plugins.tracing] exclude_paths: expected paths starting with '/'" in p for p in problems
    )


def test_grpc_without_its_exporter_installed_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # as if the optional extra were not installed, whether or not it is here
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.grpc.trace_exporter", None)
    with pytest.raises(ConfigError) as caught:
        make_app(themisgate_tracing, settings={"plugins": {"tracing": {"protocol": "grpc"}}})
    (problem,) = caught.value.problems
    assert problem.key == "protocol"
    assert "pip install 'themisgate-tracing[grpc]'" in problem.message
    # exporting nowhere needs no exporter
    make_app(
        themisgate_tracing,
        settings={"plugins": {"tracing": {"protocol": "grpc", "exporter": "none"}}},
    )


async def test_disabled_by_the_environment_the_plugin_does_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from litestar.testing import AsyncTestClient

    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    app = make_app(themisgate_tracing, settings={"plugins": {"tracing": {}}})
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/api")
        ready = (await client.get("/ready")).json()
    assert response.status_code == 200
    assert "x-trace-id" not in response.headers
    check = next(c for c in ready["checks"] if c["name"] == "tracing")
    assert check["ok"]
    assert check["detail"] == "disabled by OTEL_SDK_DISABLED"
