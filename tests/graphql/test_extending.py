"""Other plugins add fields through `themisgate_graphql_fields`, in plain Python: the
example third-party plugin adds `hello(name: String!): String!`."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

import themisgate_graphql
import themisgate_hello
from tests.graphql.support import (
    ALL,
    Named,
    codes,
    data,
    graphql_app,
    graphql_client,
    identity_plugin,
    query,
    rate_limiter,
)
from themisgate import ConfigError, GraphQLField, ProblemError
from themisgate.testing import make_app


def fields_plugin(name: str, *fields: GraphQLField) -> Named:
    return Named(name, themisgate_graphql_fields=lambda ctx: list(fields))


async def test_the_example_plugin_adds_a_hello_field() -> None:
    settings = {"plugins": {"graphql": {}, "hello": {"greeting": "Moin", "punctuation": "."}}}
    app = make_app(themisgate_graphql, themisgate_hello, settings=settings)
    async with AsyncTestClient(app=app) as client:
        response = await query(client, 'query Greet { hello(name: "world") }')
        schema = await query(client, '{ __type(name: "Query") { fields { name description } } }')
    assert data(response) == {"hello": "Moin, world."}
    fields = {f["name"]: f["description"] for f in data(schema)["__type"]["fields"]}
    assert fields["hello"] == "A greeting for `name`."


async def test_plugin_fields_take_typed_arguments_and_may_return_json() -> None:
    async def stats(collection: str, limit: int = 3, verbose: bool | None = None) -> dict[str, Any]:
        return {"collection": collection, "limit": limit, "verbose": verbose}

    def tags() -> list[str]:
        return ["a", "b"]

    plugin = fields_plugin(
        "extras",
        GraphQLField(name="stats", resolver=stats),
        GraphQLField(name="tags", resolver=tags),
    )
    async with graphql_client(plugin) as client:
        response = await query(client, '{ stats(collection: "c", verbose: true) tags }')
        missing = await query(client, "{ stats }")
    assert data(response) == {
        "stats": {"collection": "c", "limit": 3, "verbose": True},
        "tags": ["a", "b"],
    }
    assert "Query.stats(collection:)' of type 'String!' is required" in missing.text


async def test_plugin_fields_need_their_scope_and_are_charged_their_cost() -> None:
    def secret() -> str:
        return "42"

    plugin = fields_plugin(
        "admin", GraphQLField(name="secret", resolver=secret, scope="admin", cost=7)
    )
    charges: list[tuple[str, str, int]] = []
    async with graphql_client(plugin, identity_plugin(frozenset({"read"}))) as client:
        refused = await query(client, "{ secret }")
    async with graphql_client(plugin, identity_plugin(ALL), rate_limiter(charges)) as client:
        allowed = await query(client, "{ secret }")
    assert codes(refused) == ["FORBIDDEN"]
    assert refused.json()["errors"][0]["extensions"]["requiredScope"] == "admin"
    assert data(allowed) == {"secret": "42"}
    assert charges == [("api_key:caller", "graphql", 7)]


async def test_errors_from_plugin_resolvers_keep_their_meaning_but_not_their_internals() -> None:
    def gone() -> str:
        raise ProblemError(404, "No such greeting.", slug="greeting-not-found")

    def broken() -> str:
        raise RuntimeError("database password is hunter2")

    plugin = fields_plugin(
        "faulty",
        GraphQLField(name="gone", resolver=gone),
        GraphQLField(name="broken", resolver=broken),
    )
    async with graphql_client(plugin) as client:
        missing = await query(client, "{ gone }")
        failing = await query(client, "{ broken }")
    assert missing.status_code == failing.status_code == 200
    (error,) = missing.json()["errors"]
    assert error["message"] == "No such greeting."
    assert error["extensions"]["code"] == "GREETING_NOT_FOUND"
    assert codes(failing) == ["INTERNAL_SERVER_ERROR"]
    assert "hunter2" not in failing.text


def test_fields_that_cannot_be_added_stop_start_up_naming_their_plugin() -> None:
    def ok() -> str:
        return ""

    def untyped(thing: object) -> str:
        return ""

    plugins = [
        fields_plugin("one", GraphQLField(name="shared", resolver=ok)),
        fields_plugin("two", GraphQLField(name="shared", resolver=ok)),
        fields_plugin("three", GraphQLField(name="document", resolver=ok)),
        fields_plugin("four", GraphQLField(name="not-a-name", resolver=ok)),
        fields_plugin("five", GraphQLField(name="weird", resolver=untyped)),
        Named("six", themisgate_graphql_fields=lambda ctx: [{"name": "x"}]),
    ]
    with pytest.raises(ConfigError) as failed:
        graphql_app(*plugins[:5])
    by_plugin = {p.table: p.message for p in failed.value.problems}
    assert by_plugin["plugins.two"] == "GraphQL field 'shared' is already defined by 'one'"
    assert by_plugin["plugins.three"] == "GraphQL field 'document' is already defined by 'graphql'"
    assert by_plugin["plugins.four"] == "GraphQL field 'not-a-name' is not a valid name"
    assert by_plugin["plugins.five"].startswith("GraphQL field 'weird' cannot be typed")
    assert len(failed.value.problems) == 4
    with pytest.raises(ConfigError) as wrong_type:
        graphql_app(plugins[5])
    assert "return themisgate.GraphQLField values" in str(wrong_type.value)
