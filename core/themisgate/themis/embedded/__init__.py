"""The embedded ThemisDB engine: documents, vectors and a graph in one SQLite file.

`EmbeddedBackend` implements `ThemisBackend` in process; `themis-lite` serves the wire API
from it. Modules: `store` (SQLite layout and statements), `vectors` (exact cosine index),
`graph` (adjacency and BFS), `backend` (where each piece of work runs).
"""

from .backend import EmbeddedBackend

__all__ = ["EmbeddedBackend"]
