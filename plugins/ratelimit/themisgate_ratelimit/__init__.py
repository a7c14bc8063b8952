"""themisgate plugin: GCRA rate limits per user, API key or IP, with tiers, in memory or Redis."""
