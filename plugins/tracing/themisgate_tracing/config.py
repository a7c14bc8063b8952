"""`[plugins.tracing]`: what the operator may write in `plugins.toml`.

Keys left out (None) fall back to the standard `OTEL_*` environment variables, then to
the defaults; `resolve.py` does that. A key written here wins over the environment, as
programmatic configuration wins over it in every OpenTelemetry SDK.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from themisgate import Secret

Exporter = Literal["otlp", "console", "none"]
Protocol = Literal["http/protobuf", "grpc"]
SamplerName = Literal[
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
]
# an HTTP field name (RFC 9110 token), or "" for no header
HeaderName = Annotated[str, msgspec.Meta(pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]*$")]
Seconds = Annotated[float, msgspec.Meta(gt=0, le=300)]


class Config(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # --- where spans go -----------------------------------------------------------------
    exporter: Exporter | None = None  # OTEL_TRACES_EXPORTER; default "otlp"
    protocol: Protocol | None = None  # OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL; "http/protobuf"
    # the collector's base URL, e.g. "http://jaeger:4318"; "/v1/traces" is added for
    # http/protobuf. OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT; default localhost:4318 / 4317
    endpoint: str | None = None
    # sent with every export (collector auth): { "x-api-key" = { env = "OTLP_KEY" } }
    headers: dict[str, Secret] = {}
    # one export attempt, retries included; also bounds the final flush at shutdown.
    # OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT (milliseconds); default 10 s
    export_timeout: Seconds | None = None

    # --- the resource: who sends the spans ------------------------------------------
    service_name: str | None = None  # OTEL_SERVICE_NAME; default "themisgate"
    service_version: str | None = None  # default: the installed themisgate version
    environment: str | None = None  # deployment.environment, e.g. "production"
    resource_attributes: dict[str, str] = {}  # merged over OTEL_RESOURCE_ATTRIBUTES

    # --- sampling ----------------------------------------------------------------------
    sampler: SamplerName | None = None  # OTEL_TRACES_SAMPLER; "parentbased_always_on"
    sampler_ratio: Annotated[float, msgspec.Meta(ge=0, le=1)] | None = None  # ..._ARG; 1.0

    # --- batching (OTEL_BSP_*) ------------------------------------------------------------
    max_queue_size: Annotated[int, msgspec.Meta(ge=1)] | None = None  # 2048
    max_export_batch_size: Annotated[int, msgspec.Meta(ge=1)] | None = None  # 512
    schedule_delay: Seconds | None = None  # seconds between exports; 5

    # --- server spans ------------------------------------------------------------------
    exclude_paths: list[str] = msgspec.field(
        default_factory=lambda: ["/health", "/ready", "/metrics"]
    )
    trace_id_header: HeaderName = "X-Trace-Id"
