"""The in-memory graph: edges by id, out- and in-adjacency, and breadth-first traversal.

Like the vector index it mirrors a SQLite table (`edges`), is rebuilt from it at start-up
and is changed only after a commit. Adjacency lists keep insertion order (dicts used as
ordered sets, so removing an edge is O(1)), which makes traversal order deterministic:
neighbours are visited in the order their edges were added, outgoing before incoming for
`direction="any"` — the order the real server's BFS gives.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from ..errors import ThemisBadRequest
from ..models import Edge, Traversal, TraversalQuery

_DIRECTIONS = ("out", "in", "any")


class Graph:
    def __init__(self) -> None:
        self._edges: dict[str, Edge] = {}
        self._out: dict[str, dict[str, None]] = {}
        self._in: dict[str, dict[str, None]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._edges)

    def add(self, edges: Iterable[Edge]) -> None:
        """Insert or replace edges; a replaced edge moves to the end, as in the table."""
        with self._lock:
            for edge in edges:
                self._unlink(edge.id)
                self._edges[edge.id] = edge
                self._out.setdefault(edge.source, {})[edge.id] = None
                self._in.setdefault(edge.target, {})[edge.id] = None

    def remove(self, edge_id: str) -> bool:
        with self._lock:
            return self._unlink(edge_id)

    def _unlink(self, edge_id: str) -> bool:
        edge = self._edges.pop(edge_id, None)
        if edge is None:
            return False
        for adjacency, vertex in ((self._out, edge.source), (self._in, edge.target)):
            ids = adjacency[vertex]
            del ids[edge_id]
            if not ids:
                del adjacency[vertex]
        return True

    def traverse(self, query: TraversalQuery) -> Traversal:
        """Breadth-first from `query.start` up to `max_depth` hops.

        Each vertex is reached once, at its smallest depth, through the first edge (in
        insertion order) that reaches it. `vertices` are in BFS order, keeping those at depth
        `>= min_depth` (so the start only when `min_depth == 0`); `edges` are the edges that
        reached those vertices; `paths[i]` is the list of edge ids from the start to
        `vertices[i]`. An unknown start vertex yields just itself, as the server does.
        """
        check_query(query)
        follow_out = query.direction in ("out", "any")
        follow_in = query.direction in ("in", "any")
        paths: dict[str, list[str]] = {query.start: []}
        depths: dict[str, int] = {query.start: 0}
        reached_by: dict[str, Edge] = {}
        frontier = [query.start]
        with self._lock:
            for depth in range(1, query.max_depth + 1):
                if not frontier:
                    break
                following: list[str] = []
                for vertex in frontier:
                    for edge, neighbour in self._neighbours(vertex, follow_out, follow_in):
                        if neighbour in depths:
                            continue
                        if query.edge_type is not None and edge.type != query.edge_type:
                            continue
                        depths[neighbour] = depth
                        paths[neighbour] = [*paths[vertex], edge.id]
                        reached_by[neighbour] = edge
                        following.append(neighbour)
                frontier = following
        vertices = [vertex for vertex, depth in depths.items() if depth >= query.min_depth]
        return Traversal(
            start=query.start,
            vertices=vertices,
            edges=[reached_by[vertex] for vertex in vertices if vertex in reached_by],
            paths=[paths[vertex] for vertex in vertices],
            depths={vertex: depths[vertex] for vertex in vertices},
        )

    def _neighbours(
        self, vertex: str, follow_out: bool, follow_in: bool
    ) -> Iterable[tuple[Edge, str]]:
        if follow_out:
            for edge_id in self._out.get(vertex, ()):
                edge = self._edges[edge_id]
                yield edge, edge.target
        if follow_in:
            for edge_id in self._in.get(vertex, ()):
                edge = self._edges[edge_id]
                yield edge, edge.source


def check_query(query: TraversalQuery) -> None:
    """Refuse what the server would 500 on (a negative depth) with a clear 400 instead."""
    if not isinstance(query.start, str) or not query.start:
        raise ThemisBadRequest("start vertex must be a non-empty string")
    for name, value in (("max_depth", query.max_depth), ("min_depth", query.min_depth)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ThemisBadRequest(f"{name} must be an integer")
        if value < 0:
            raise ThemisBadRequest(f"{name} must not be negative, got {value}")
    if query.min_depth > query.max_depth:
        raise ThemisBadRequest(
            f"min_depth ({query.min_depth}) must not exceed max_depth ({query.max_depth})"
        )
    if query.direction not in _DIRECTIONS:
        raise ThemisBadRequest(f"direction must be one of {', '.join(_DIRECTIONS)}")
