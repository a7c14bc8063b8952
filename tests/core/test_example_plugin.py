"""The third-party template in examples/hello-plugin, installed as a normal distribution:
discovered by entry point, configured from plugins.toml, served and listed."""

from __future__ import annotations

from pathlib import Path

from litestar.testing import AsyncTestClient

from themisgate import create_app, load_settings
from themisgate.plugins import installed_plugins


def test_it_is_discovered_through_its_entry_point() -> None:
    ep = installed_plugins()["hello"]
    assert ep.value == "themisgate_hello"
    assert ep.dist is not None
    assert ep.dist.name == "themisgate-hello"


async def test_it_is_configured_from_plugins_toml_served_and_listed(tmp_path: Path) -> None:
    config = tmp_path / "plugins.toml"
    config.write_text(
        '[core]\naccess_log = false\n[core.themis]\npath = ":memory:"\n'
        '[plugins.hello]\ngreeting = "Moin"\npunctuation = "."\n'
    )
    app = create_app(load_settings(config, environ={}), configure_logs=False)
    async with AsyncTestClient(app=app) as client:
        greeting = await client.get("/hello/world")
        listing = await client.get("/-/plugins")
    assert greeting.json() == {"message": "Moin, world."}
    hello = next(p for p in listing.json()["enabled"] if p["name"] == "hello")
    assert hello["distribution"] == "themisgate-hello"
    assert hello["version"] == "0.1.0"
    assert hello["settings"] == {"greeting": "Moin", "punctuation": "."}
    assert hello["hooks"] == ["themisgate_cli", "themisgate_graphql_fields", "themisgate_routes"]


async def test_themisgate_testing_tests_a_plugin_in_a_few_lines() -> None:
    import themisgate_hello
    from themisgate.testing import plugin_client

    settings = {"plugins": {"hello": {"greeting": "Hej"}}}
    async with plugin_client(themisgate_hello, settings=settings) as client:
        response = await client.get("/hello/you")
    assert response.json() == {"message": "Hej, you!"}
