"""AQL, ThemisDB's query language, understood here so both backends answer it alike.

- `parser` (lark, LALR, `grammar.lark`) turns text into the tree of `ast`;
- `binds` resolves `@name` / `@@collection` natively, or writes them into the text for the
  HTTP backend, whose server has no bind variables;
- `mutations` refuses what the read-only server refuses;
- `engine` is what the embedded backend calls; `execute` plans and runs a query there:
  `compile_sqlite` writes FILTER, SORT and LIMIT as SQL where it can, `evaluate` compiles
  the rest to Python, `collect` groups, `traversal` walks the graph (`trees` holds the
  planner's tree helpers; the embedded package keeps the secondary indexes);
- `cursor` signs the cursors that page through results; `values` defines what `==`, `<`,
  truth and order mean, for SQL and Python alike.
"""

from .ast import Query, collection_of, returns_stored
from .binds import bind_names, check_binds, resolve, substitute
from .cursor import CursorCodec, fingerprint
from .errors import (
    AqlBindError,
    AqlCursorExpired,
    AqlCursorInvalid,
    AqlError,
    AqlForbidden,
    AqlFullScan,
    AqlLimitExceeded,
    AqlQueryError,
    AqlSyntaxError,
    AqlUnsendable,
)
from .mutations import check_read_only
from .parser import parse

__all__ = [
    "AqlBindError",
    "AqlCursorExpired",
    "AqlCursorInvalid",
    "AqlError",
    "AqlForbidden",
    "AqlFullScan",
    "AqlLimitExceeded",
    "AqlQueryError",
    "AqlSyntaxError",
    "AqlUnsendable",
    "CursorCodec",
    "Query",
    "bind_names",
    "check_binds",
    "check_read_only",
    "collection_of",
    "fingerprint",
    "parse",
    "resolve",
    "returns_stored",
    "substitute",
]
