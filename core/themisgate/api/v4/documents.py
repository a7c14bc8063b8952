"""Documents: `/api/v4/themis/documents/{collection}/{key}` and batch reads."""

from __future__ import annotations

from typing import Any

from litestar import delete, get, post, put
from litestar.params import FromPath, JSONBody

from ...context import Ctx
from ...problems import ProblemError
from ..problem_docs import COMMON_ERRORS, problem_responses
from .models import (
    BatchGetRequest,
    BatchGetResponse,
    Collection,
    DocumentResponse,
    Key,
    StoredResponse,
)

ERRORS = problem_responses()
ERRORS_OR_MISSING = problem_responses(*COMMON_ERRORS, 404)
DOCUMENT = "/themis/documents/{collection:str}/{key:str}"


@put(DOCUMENT, status_code=200, opt={"scope": "write"}, tags=["documents"], responses=ERRORS)
async def put_document(
    ctx: Ctx, collection: FromPath[Collection], key: FromPath[Key], data: JSONBody[dict[str, Any]]
) -> StoredResponse:
    """Store a JSON object under `collection`/`key`, replacing what was there."""
    await ctx.adapter.put_document(collection, key, data)
    return StoredResponse(collection, key)


@get(DOCUMENT, opt={"scope": "read"}, tags=["documents"], responses=ERRORS_OR_MISSING)
async def get_document(
    ctx: Ctx, collection: FromPath[Collection], key: FromPath[Key]
) -> DocumentResponse:
    document = await ctx.adapter.get_document(collection, key)
    if document is None:
        raise ProblemError(
            404, f"No document {key!r} in collection {collection!r}.", slug="document-not-found"
        )
    return DocumentResponse(collection, key, document)


@delete(DOCUMENT, opt={"scope": "write"}, tags=["documents"], responses=ERRORS)
async def delete_document(ctx: Ctx, collection: FromPath[Collection], key: FromPath[Key]) -> None:
    """Delete a document and its vector. Deleting what is not there succeeds (idempotent)."""
    await ctx.adapter.delete_document(collection, key)


@post(
    "/themis/documents/batch-get",
    status_code=200,
    opt={"scope": "read"},
    tags=["documents"],
    responses=ERRORS,
)
async def batch_get(ctx: Ctx, data: JSONBody[BatchGetRequest]) -> BatchGetResponse:
    """Up to 1000 documents of one collection in one call; absent keys are listed in `missing`."""
    found = await ctx.adapter.get_documents(data.collection, data.keys)
    missing = [key for key in data.keys if key not in found]
    return BatchGetResponse(data.collection, dict(found), missing)


ROUTES = [put_document, get_document, delete_document, batch_get]
