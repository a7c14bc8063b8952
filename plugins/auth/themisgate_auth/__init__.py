"""themisgate plugin: API keys and JWT identities, scopes, trusted proxies."""
