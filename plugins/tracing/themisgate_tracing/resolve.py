"""`plugins.toml` + the standard `OTEL_*` environment variables → the settings in force.

Precedence, per key: `[plugins.tracing]` (including `THEMISGATE__PLUGINS__TRACING__*`
overrides) > `OTEL_*` variables > defaults. An operator pins a value in the file; a
platform that injects `OTEL_*` into every container fills in what the file leaves out.
Every value is checked here, at start-up, and a bad one is reported with where it came
from: the file's table and key, or the environment variable.
"""

from __future__ import annotations

import importlib.metadata
import urllib.parse
from collections.abc import Callable, Mapping
from typing import get_args

import msgspec

from themisgate import ConfigError, Problem, Secret

from .config import Config, Exporter, Protocol, SamplerName
from .exporters import GRPC_HINT, grpc_exporter_class

TABLE = "plugins.tracing"
DEFAULT_SERVICE_NAME = "themisgate"
DEFAULT_HTTP_ENDPOINT = "http://localhost:4318"
DEFAULT_GRPC_ENDPOINT = "http://localhost:4317"
TRACES_PATH = "/v1/traces"

EXPORTERS: tuple[str, ...] = get_args(Exporter)
PROTOCOLS: tuple[str, ...] = get_args(Protocol)
SAMPLERS: tuple[str, ...] = get_args(SamplerName)


class TracingSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The settings in force, every value resolved and checked."""

    disabled: bool = False  # OTEL_SDK_DISABLED=true
    exporter: Exporter = "otlp"
    protocol: Protocol = "http/protobuf"
    endpoint: str = DEFAULT_HTTP_ENDPOINT + TRACES_PATH  # the URL the exporter posts to
    headers: dict[str, Secret] = {}
    export_timeout: float = 10.0
    resource: dict[str, str] = {}
    sampler: SamplerName = "parentbased_always_on"
    sampler_ratio: float = 1.0
    max_queue_size: int = 2048
    max_export_batch_size: int = 512
    schedule_delay: float = 5.0
    exclude_paths: frozenset[str] = frozenset()
    trace_id_header: str = "X-Trace-Id"


def core_version() -> str:
    try:
        return importlib.metadata.version("themisgate")
    except importlib.metadata.PackageNotFoundError:
        return "0"


class _Resolver:
    """Reads one key at a time from the file, then the environment, keeping problems."""

    def __init__(self, environ: Mapping[str, str], file_origin: Callable[[str], str]) -> None:
        self.environ = environ
        self.file_origin = file_origin
        self.problems: list[Problem] = []

    def env(self, *names: str) -> tuple[str, str] | None:
        """The first of `names` that is set and not blank, with its value."""
        for name in names:
            value = self.environ.get(name, "").strip()
            if value:
                return name, value
        return None

    def in_file(self, key: str, message: str) -> None:
        self.problems.append(Problem(self.file_origin(key), TABLE, key, message))

    def in_env(self, variable: str, key: str, message: str) -> None:
        self.problems.append(Problem(f"environment variable {variable}", TABLE, key, message))

    def choice(self, key: str, value: str, variable: str, allowed: tuple[str, ...]) -> str | None:
        chosen = value.strip().lower()
        if chosen in allowed:
            return chosen
        self.in_env(variable, key, f"expected one of {', '.join(allowed)}; found {value!r}")
        return None

    def number(self, key: str, variable: str, raw: str, *, minimum: float) -> float | None:
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not value >= minimum:  # also false for nan
            self.in_env(variable, key, f"expected a number >= {minimum:g}; found {raw!r}")
            return None
        return value


def resolve(
    config: Config,
    environ: Mapping[str, str],
    file_origin: Callable[[str], str] = lambda key: "plugins.toml",
) -> TracingSettings:
    """The settings in force for `config` under `environ`; raises `ConfigError` listing
    every bad value. `file_origin(key)` names where a file key came from."""
    r = _Resolver(environ, file_origin)
    disabled = (environ.get("OTEL_SDK_DISABLED", "").strip().lower()) == "true"
    exporter = _exporter(r, config)
    protocol = _protocol(r, config, exporter)
    endpoint = _endpoint(r, config, protocol)
    headers = _headers(r, config)
    export_timeout = _milliseconds_or(
        r,
        "export_timeout",
        config.export_timeout,
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"),
        10.0,
    )
    resource = _resource(r, config)
    sampler, ratio = _sampler(r, config)
    queue = _count(r, "max_queue_size", config.max_queue_size, "OTEL_BSP_MAX_QUEUE_SIZE", 2048)
    batch = _count(
        r,
        "max_export_batch_size",
        config.max_export_batch_size,
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        512,
    )
    if batch > queue:
        r.in_file(
            "max_export_batch_size",
            f"must not exceed max_queue_size ({queue}); found {batch}",
        )
    delay = _milliseconds_or(
        r, "schedule_delay", config.schedule_delay, ("OTEL_BSP_SCHEDULE_DELAY",), 5.0
    )
    for path in config.exclude_paths:
        if not path.startswith("/"):
            r.in_file("exclude_paths", f"expected paths starting with '/'; found {path!r}")
    if r.problems:
        raise ConfigError(r.problems)
    return TracingSettings(
        disabled=disabled,
        exporter=exporter,  # type: ignore[arg-type]
        protocol=protocol,  # type: ignore[arg-type]
        endpoint=endpoint,
        headers=headers,
        export_timeout=export_timeout,
        resource=resource,
        sampler=sampler,  # type: ignore[arg-type]
        sampler_ratio=ratio,
        max_queue_size=queue,
        max_export_batch_size=batch,
        schedule_delay=delay,
        exclude_paths=frozenset(config.exclude_paths),
        trace_id_header=config.trace_id_header,
    )


def _exporter(r: _Resolver, config: Config) -> str:
    if config.exporter is not None:
        return config.exporter
    found = r.env("OTEL_TRACES_EXPORTER")
    if found is None:
        return "otlp"
    variable, raw = found
    names = [name.strip().lower() for name in raw.split(",") if name.strip()]
    if len(names) != 1:
        r.in_env(
            variable, "exporter", f"one exporter at a time (otlp, console, none); found {raw!r}"
        )
        return "otlp"
    if names[0] in ("jaeger", "zipkin"):
        r.in_env(
            variable,
            "exporter",
            f"{names[0]!r} is not supported: Jaeger and Zipkin both accept OTLP, use otlp",
        )
        return "otlp"
    return r.choice("exporter", names[0], variable, EXPORTERS) or "otlp"


def _protocol(r: _Resolver, config: Config, exporter: str) -> str:
    found = None
    if config.protocol is not None:
        protocol: str = config.protocol
    elif found := r.env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        variable, raw = found
        if raw.strip().lower() == "http/json":
            r.in_env(variable, "protocol", "http/json is not supported; use http/protobuf or grpc")
            return "http/protobuf"
        protocol = r.choice("protocol", raw, variable, PROTOCOLS) or "http/protobuf"
    else:
        protocol = "http/protobuf"
    if protocol == "grpc" and exporter == "otlp":
        try:
            grpc_exporter_class()
        except ImportError:
            if found is None:
                r.in_file("protocol", GRPC_HINT)
            else:
                r.in_env(found[0], "protocol", GRPC_HINT)
    return protocol


def _check_url(url: str) -> str | None:
    """What is wrong with a collector URL, or None."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        return f"not a URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "expected an http:// or https:// URL, e.g. http://jaeger:4318"
    return None


def _with_traces_path(base: str) -> str:
    if base.rstrip("/").endswith(TRACES_PATH):
        return base
    return base.rstrip("/") + TRACES_PATH


def _endpoint(r: _Resolver, config: Config, protocol: str) -> str:
    grpc = protocol == "grpc"
    if config.endpoint is not None:
        if problem := _check_url(config.endpoint):
            r.in_file("endpoint", f"{problem}; found {config.endpoint!r}")
        return config.endpoint if grpc else _with_traces_path(config.endpoint)
    signal = r.env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    base = r.env("OTEL_EXPORTER_OTLP_ENDPOINT")
    found = signal or base
    if found is None:
        return DEFAULT_GRPC_ENDPOINT if grpc else DEFAULT_HTTP_ENDPOINT + TRACES_PATH
    variable, url = found
    if problem := _check_url(url):
        r.in_env(variable, "endpoint", f"{problem}; found {url!r}")
    # the signal-specific variable is the full URL; the generic one is a base (spec)
    return url if grpc or signal else _with_traces_path(url)


def _headers(r: _Resolver, config: Config) -> dict[str, Secret]:
    headers: dict[str, Secret] = {}
    found = r.env("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS")
    if found is not None:
        variable, raw = found
        for number, pair in enumerate(raw.split(","), start=1):
            name, sep, value = pair.partition("=")
            name = urllib.parse.unquote(name.strip())
            if not sep or not name:
                # never echo the pair: header values are usually credentials
                r.in_env(variable, "headers", f"entry {number} is not name=value")
                continue
            headers[name.lower()] = Secret(urllib.parse.unquote(value.strip()), f"env:{variable}")
    headers.update({name.lower(): value for name, value in config.headers.items()})
    return headers


def _milliseconds_or(
    r: _Resolver,
    key: str,
    configured: float | None,
    variables: tuple[str, ...],
    default: float,
) -> float:
    """Seconds: from the file as written, from the environment in milliseconds (spec)."""
    if configured is not None:
        return configured
    found = r.env(*variables)
    if found is None:
        return default
    variable, raw = found
    milliseconds = r.number(key, variable, raw, minimum=1)
    return default if milliseconds is None else milliseconds / 1000


def _count(r: _Resolver, key: str, configured: int | None, variable: str, default: int) -> int:
    if configured is not None:
        return configured
    found = r.env(variable)
    if found is None:
        return default
    _, raw = found
    if not raw.isdigit() or int(raw) < 1:
        r.in_env(variable, key, f"expected an integer >= 1; found {raw!r}")
        return default
    return int(raw)


def _resource(r: _Resolver, config: Config) -> dict[str, str]:
    attributes: dict[str, str] = {}
    found = r.env("OTEL_RESOURCE_ATTRIBUTES")
    if found is not None:
        variable, raw = found
        for number, pair in enumerate(raw.split(","), start=1):
            name, sep, value = pair.partition("=")
            if not sep or not name.strip():
                r.in_env(variable, "resource_attributes", f"entry {number} is not key=value")
                continue
            attributes[name.strip()] = urllib.parse.unquote(value.strip())
    if service := r.env("OTEL_SERVICE_NAME"):
        attributes["service.name"] = service[1]
    attributes.update(config.resource_attributes)
    attributes["service.name"] = (
        config.service_name or attributes.get("service.name") or DEFAULT_SERVICE_NAME
    )
    attributes["service.version"] = (
        config.service_version or attributes.get("service.version") or core_version()
    )
    environment = (
        config.environment
        or attributes.get("deployment.environment.name")
        or attributes.get("deployment.environment")
    )
    if environment:
        # the older name is what Jaeger and most backends group by today; the newer one
        # is the current semantic convention
        attributes["deployment.environment"] = environment
        attributes["deployment.environment.name"] = environment
    return attributes


def _sampler(r: _Resolver, config: Config) -> tuple[str, float]:
    sampler: str = "parentbased_always_on"
    if config.sampler is not None:
        sampler = config.sampler
    elif found := r.env("OTEL_TRACES_SAMPLER"):
        variable, raw = found
        sampler = r.choice("sampler", raw, variable, SAMPLERS) or sampler
    ratio = 1.0
    if config.sampler_ratio is not None:
        ratio = config.sampler_ratio
    elif sampler.endswith("traceidratio") and (found := r.env("OTEL_TRACES_SAMPLER_ARG")):
        variable, raw = found
        value = r.number("sampler_ratio", variable, raw, minimum=0)
        if value is not None and value > 1:
            r.in_env(variable, "sampler_ratio", f"expected a number from 0 to 1; found {raw!r}")
        elif value is not None:
            ratio = value
    return sampler, ratio
