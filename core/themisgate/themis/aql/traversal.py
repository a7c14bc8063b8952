"""Traversal loops: rows of vertex, edge and path from the engine's in-memory graph, with
the documents of their vertices read from SQLite."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import msgspec

from ..models import Edge, Traversal, TraversalQuery
from .ast import Constant, ForTraversal
from .evaluate import Row

Traverse = Callable[[TraversalQuery], Traversal]

_decode = msgspec.json.Decoder().decode


def traversal_rows(
    connection: sqlite3.Connection,
    loop: ForTraversal,
    traverse: Traverse,
    spend: Callable[[int], None],
) -> list[Row]:
    """One row per vertex reached at a depth in `min..max`, in BFS order: the vertex's
    document, the edge that reached it, the path from the start (as the loop asks)."""
    assert isinstance(loop.start, Constant)
    edge_type = loop.edge_type.value if isinstance(loop.edge_type, Constant) else None
    result = traverse(
        TraversalQuery(
            start=str(loop.start.value),
            max_depth=loop.max_depth,
            min_depth=0,
            direction=loop.direction,
            edge_type=edge_type,
        )
    )
    spend(len(result.vertices))
    edges = {edge.id: edge for edge in result.edges}
    kept = [v for v in result.vertices if result.depths.get(v, 0) >= loop.min_depth]
    path_of = dict(zip(result.vertices, result.paths, strict=True))
    wanted = set(kept)
    if loop.path is not None:
        for vertex in kept:
            wanted.update(path_vertices(result.start, path_of[vertex], edges))
    documents = vertex_documents(connection, sorted(wanted))
    rows: list[Row] = []
    for vertex in kept:
        row: Row = {loop.vertex: documents.get(vertex)}
        path = path_of[vertex]
        if loop.edge is not None:
            row[loop.edge] = edge_document(edges[path[-1]]) if path else None
        if loop.path is not None:
            row[loop.path] = {
                "vertices": [documents.get(v) for v in path_vertices(result.start, path, edges)],
                "edges": [edge_document(edges[e]) for e in path],
            }
        rows.append(row)
    return rows


def edge_document(edge: Edge) -> dict[str, Any]:
    """An edge as AQL returns it: `_from`, `_to`, `id`, `type`/`weight` when set, and its
    other properties, the shape the server gives."""
    document: dict[str, Any] = {**edge.properties, "_from": edge.source, "_to": edge.target}
    document["id"] = edge.id
    if edge.type is not None:
        document["type"] = edge.type
    if edge.weight is not None:
        document["weight"] = edge.weight
    return document


def vertex_documents(
    connection: sqlite3.Connection, vertices: list[str]
) -> dict[str, dict[str, Any] | None]:
    """The document of each vertex id: `coll:key` or `coll/key` names one; otherwise (or
    when that is missing) the first collection, by name, holding the key (edges recorded
    from the server join bare keys such as `alice`). No document: None."""
    found: dict[str, dict[str, Any] | None] = {}
    collections: list[str] | None = None
    for vertex in vertices:
        body = None
        for separator in ("/", ":"):
            collection, mark, key = vertex.partition(separator)
            if mark and collection and key:
                body = _one(connection, "collection = ? AND key = ?", (collection, key))
                break
        if body is None:
            if collections is None:
                collections = _collections(connection)
            if collections:
                marks = ",".join("?" * len(collections))
                body = _one(
                    connection,
                    f"collection IN ({marks}) AND key = ? ORDER BY collection",
                    (*collections, vertex),
                )
        found[vertex] = None if body is None else _decode(body)
    return found


def _one(connection: sqlite3.Connection, where: str, params: tuple[Any, ...]) -> str | None:
    rows = connection.execute(
        f"SELECT body FROM documents WHERE {where} LIMIT 1",  # noqa: S608
        params,
    ).fetchall()
    return str(rows[0][0]) if rows else None


def _collections(connection: sqlite3.Connection) -> list[str]:
    """Every collection name, by skipping through the primary key (one seek each)."""
    rows = connection.execute(
        "WITH RECURSIVE names(name) AS ("
        " SELECT min(collection) FROM documents"
        " UNION ALL SELECT (SELECT min(collection) FROM documents WHERE collection > name)"
        " FROM names WHERE name IS NOT NULL"
        ") SELECT name FROM names WHERE name IS NOT NULL"
    ).fetchall()
    return [str(name) for (name,) in rows]


def path_vertices(start: str, path: list[str], edges: dict[str, Edge]) -> list[str]:
    vertices = [start]
    for edge_id in path:
        edge = edges[edge_id]
        vertices.append(edge.target if edge.source == vertices[-1] else edge.source)
    return vertices
