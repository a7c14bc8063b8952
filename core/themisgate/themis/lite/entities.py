"""`/entities`: documents as JSON text (`blob`) under `table:pk` keys.

The blob must be a JSON string holding a JSON object. The server also accepts text that is
not JSON and later crashes on it; here that is a 400. The stored text is kept exactly, so a
GET returns the blob byte for byte as it was written.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, delete, get, post, put
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from ..errors import ThemisBadRequest
from ._context import LiteContext
from ._wire import WireError, decode, entity_address, json_response, read_object


def routes(ctx: LiteContext) -> list[HTTPRouteHandler]:
    backend = ctx.backend

    async def store(raw_key: str, body: dict[str, Any]) -> Response[bytes]:
        if "key" in body:  # the server lets a key in the body override the path
            if not isinstance(body["key"], str):
                raise WireError(400, "Field 'key' must be a string")
            raw_key = body["key"]
        address = entity_address(raw_key, writing=True)
        assert address is not None
        if "blob" not in body:
            raise WireError(400, "Missing 'blob' field")
        blob = body["blob"]
        if not isinstance(blob, str):
            raise WireError(400, "Field 'blob' must be a string holding the document as JSON")
        try:
            await backend.put_document_text(*address, blob)
        except ThemisBadRequest as exc:
            raise WireError(400, f"Field 'blob' must hold a JSON object: {exc.message}") from None
        key = f"{address[0]}:{address[1]}"
        return json_response({"success": True, "key": key, "blob_size": len(blob.encode())}, 201)

    @put("/entities/{key:path}")
    async def put_entity(request: Request[Any, Any, Any], key: FromPath[str]) -> Response[bytes]:
        return await store(key.lstrip("/"), await read_object(request))

    @put("/entities")
    async def put_entity_without_key(request: Request[Any, Any, Any]) -> Response[bytes]:
        body = await read_object(request)
        if "key" not in body:
            raise WireError(400, "invalid entity key")
        return await store("", body)

    @post("/entities")
    async def post_entity(request: Request[Any, Any, Any]) -> Response[bytes]:
        body = await read_object(request)
        if "key" not in body:
            raise WireError(400, "Missing 'key' field")
        return await store("", body)

    @get("/entities/{key:path}")
    async def get_entity(request: Request[Any, Any, Any], key: FromPath[str]) -> Response[bytes]:
        raw_key = key.lstrip("/")
        address = entity_address(raw_key, writing=False)
        text = None if address is None else await backend.get_document_text(*address)
        if text is None:
            raise WireError(404, "Entity not found")
        if request.query_params.get("decrypt") in ("true", "1"):
            # nothing here is encrypted: the document itself is the "decrypted" entity
            return json_response({"key": raw_key, "decrypted": True, "entity": decode(text)})
        return json_response({"key": raw_key, "blob": text})

    @delete("/entities/{key:path}", status_code=200)
    async def delete_entity(key: FromPath[str]) -> Response[bytes]:
        raw_key = key.lstrip("/")
        address = entity_address(raw_key, writing=False)
        if address is not None:
            await backend.delete_document(*address)
        return json_response({"success": True, "key": raw_key})

    return [put_entity, put_entity_without_key, post_entity, get_entity, delete_entity]
