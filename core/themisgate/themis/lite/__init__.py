"""themis-lite: ThemisDB's wire API served from the embedded engine.

A stand-in for a real ThemisDB server — for the `http` backend's tests, for clients written
against the wire API, for development without the C++ server. Same routes, status codes and
JSON shapes as the server where it behaves sensibly, and a clear 4xx where it does not.
"""

from .app import MAX_BODY_BYTES, create_lite_app
from .serve import serve_lite

__all__ = ["MAX_BODY_BYTES", "create_lite_app", "serve_lite"]
