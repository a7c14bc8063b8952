"""What a server can do beyond the released ThemisDB wire API, read from `/api/capabilities`.

The released server's `/graph/traverse` walks outbound edges of every type and its
`/vector/search` ignores `collection`. A server that advertises more (`themisgate
themis-lite` does: `graph.directions`, `graph.min_depth`, `graph.edge_type_filter`,
`vector.collection_filter`) is sent those options instead of being refused them or
over-fetched for. Anything not advertised is assumed absent, so the released server gets
exactly the requests it was recorded answering.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..models import Direction


@dataclass(frozen=True, slots=True)
class ServerFeatures:
    directions: frozenset[str] = frozenset({"out"})
    min_depth: bool = False
    edge_type_filter: bool = False
    collection_filter: bool = False

    @classmethod
    def from_capabilities(cls, capabilities: dict[str, Any]) -> ServerFeatures:
        graph = capabilities.get("graph")
        vector = capabilities.get("vector")
        graph = graph if isinstance(graph, dict) else {}
        vector = vector if isinstance(vector, dict) else {}
        directions = graph.get("directions")
        advertised = (
            {d for d in directions if isinstance(d, str)} if isinstance(directions, list) else set()
        )
        return cls(
            directions=frozenset({"out"} | advertised),
            min_depth=graph.get("min_depth") is True,
            edge_type_filter=graph.get("edge_type_filter") is True,
            collection_filter=vector.get("collection_filter") is True,
        )

    def supports_direction(self, direction: Direction) -> bool:
        return direction in self.directions
