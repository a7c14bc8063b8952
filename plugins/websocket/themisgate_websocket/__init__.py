"""themisgate plugin: streaming search, live status and log streams over WebSocket and SSE."""
