"""themisgate plugin: OpenTelemetry traces for requests and ThemisDB calls, exported over OTLP."""
