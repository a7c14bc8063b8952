"""themisgate plugin: GraphQL over ThemisDB, with batching, subscriptions and abuse protection."""
