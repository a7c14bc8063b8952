"""themisgate: a plugin-based API server for ThemisDB.

The public surface for plugin authors: `hookimpl`, the values hooks exchange, the context
every hook receives, and `ProblemError` for answering with problem+json.
"""

from .adapter import SearchOutcome, SearchQuery, ThemisAdapter, UpsertEntry
from .api.problem_docs import ProblemDetails, problem_responses
from .app import create_app
from .config import CoreSettings, Settings, load_settings
from .context import AppContext, Ctx
from .contracts import (
    ALLOW_ALL,
    ApiVersion,
    GraphQLField,
    Identity,
    Middleware,
    RateDecision,
    StatusCheck,
    StatusReport,
    WebSocketAction,
)
from .hookspecs import hookimpl
from .logfields import log_field
from .logs import observe_logs
from .problems import ProblemError
from .responsefacts import ResponseFacts, response_facts
from .secrets import Secret
from .validation import ConfigError, Problem

__all__ = [
    "ALLOW_ALL",
    "ApiVersion",
    "AppContext",
    "ConfigError",
    "CoreSettings",
    "Ctx",
    "GraphQLField",
    "Identity",
    "Middleware",
    "Problem",
    "ProblemDetails",
    "ProblemError",
    "RateDecision",
    "ResponseFacts",
    "SearchOutcome",
    "SearchQuery",
    "Secret",
    "Settings",
    "StatusCheck",
    "StatusReport",
    "ThemisAdapter",
    "UpsertEntry",
    "WebSocketAction",
    "create_app",
    "hookimpl",
    "load_settings",
    "log_field",
    "observe_logs",
    "problem_responses",
    "response_facts",
]
