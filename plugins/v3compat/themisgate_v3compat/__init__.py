"""themisgate plugin: the deprecated v3 API translated onto v4, with deprecation signals."""
