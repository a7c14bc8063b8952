"""themisgate plugin: a GraphQL API over ThemisDB, with batching, subscriptions and abuse protection."""
