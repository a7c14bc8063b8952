"""themisgate plugin: Prometheus metrics for HTTP, ThemisDB, rate limits, WebSocket and GraphQL."""
