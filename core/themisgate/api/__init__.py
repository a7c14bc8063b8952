"""HTTP surfaces of the core: system routes and the v4 REST API."""
