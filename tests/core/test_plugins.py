"""Plugin loading: only enabled plugins are imported, tables are validated before any hook
runs, order follows `requires` and `priority`, and every mistake is a named error."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from themisgate import ConfigError
from themisgate.plugins import load_plugins
from themisgate.testing import make_app, make_settings

from .plugin_fixtures import LimitsConfig, Named, routes_plugin, shared_one, shared_two


def run_python(code: str) -> dict[str, object]:
    """Run `code` in a fresh interpreter (so sys.modules starts clean); it prints JSON."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_enabled_plugin_is_imported_and_disabled_one_is_not() -> None:
    code = """
        import json, sys
        from themisgate.testing import make_app
        make_app(settings={"plugins": {"hello": {"enabled": %s}}})
        print(json.dumps({"imported": "themisgate_hello" in sys.modules}))
    """
    assert run_python(code % "False") == {"imported": False}
    assert run_python(code % "True") == {"imported": True}


def test_unknown_plugin_lists_installed_ones_and_the_distribution() -> None:
    settings = make_settings({"plugins": {"graphqll": {}}})
    with pytest.raises(ConfigError) as caught:
        load_plugins(settings)
    (problem,) = caught.value.problems
    text = str(problem)
    assert "[plugins.graphqll]" in text
    assert "plugin 'graphqll' is not installed" in text
    assert "installed plugins: " in text
    assert "hello" in text
    assert "pip install themisgate-graphqll" in text


def test_optional_plugin_that_is_missing_is_skipped_and_listed() -> None:
    settings = make_settings({"plugins": {"ghost": {"optional": True}}})
    loaded = load_plugins(settings)
    assert [s.name for s in loaded.skipped] == ["ghost"]
    assert "not installed" in loaded.skipped[0].reason


def test_wrong_type_and_unknown_key_in_a_plugin_table_name_the_key() -> None:
    plugin = Named("limits", Config=LimitsConfig)
    settings = make_settings({"plugins": {"limits": {"burst": "lots", "rat": "1/second"}}})
    with pytest.raises(ConfigError) as caught:
        load_plugins(settings, direct=[plugin])
    lines = sorted(str(p) for p in caught.value.problems)
    assert len(lines) == 2
    assert "[plugins.limits] burst: expected int; found 'lots'" in lines[0]
    assert "[plugins.limits] rat: unknown key; did you mean 'rate'?" in lines[1]


def test_plugin_config_is_typed_and_reaches_hooks() -> None:
    seen: list[LimitsConfig] = []
    plugin = Named("limits", Config=LimitsConfig)
    plugin.themisgate_routes = lambda ctx: seen.append(ctx.config("limits")) or []  # type: ignore[attr-defined]
    make_app(plugin, settings={"plugins": {"limits": {"burst": 9}}})
    assert seen == [LimitsConfig(rate="10/minute", burst=9)]


def test_plugin_without_config_rejects_settings() -> None:
    settings = make_settings({"plugins": {"bare": {"colour": "blue"}}})
    with pytest.raises(
        ConfigError, match=r"\[plugins.bare\] colour: unknown key; this plugin takes no settings"
    ):
        load_plugins(settings, direct=[Named("bare")])


def test_requires_cycle_is_an_error_naming_the_cycle() -> None:
    a = Named("alpha", requires=["beta"])
    b = Named("beta", requires=["alpha"])
    with pytest.raises(ConfigError, match="plugins require each other: alpha -> beta -> alpha"):
        load_plugins(make_settings(), direct=[a, b])


def test_missing_or_disabled_requirement_names_both_plugins() -> None:
    needs = Named("graphs", requires=["auth"])
    with pytest.raises(
        ConfigError, match="plugin 'graphs' requires plugin 'auth', which is not enabled"
    ):
        load_plugins(make_settings(), direct=[needs])
    settings = make_settings({"plugins": {"hello": {"enabled": False}}})
    needs_hello = Named("greeter", requires=["hello"])
    with pytest.raises(ConfigError, match="requires plugin 'hello', which is disabled"):
        load_plugins(settings, direct=[needs_hello])


def test_order_follows_requires_then_priority() -> None:
    low = Named("low", priority=1)
    high = Named("high", priority=50)
    dependent = Named("dependent", priority=100, requires=["low"])
    loaded = load_plugins(make_settings(), direct=[low, high, dependent])
    assert [p.name for p in loaded.ordered] == ["high", "low", "dependent"]


def test_misspelled_hook_names_plugin_and_hook() -> None:
    plugin = Named("typo")
    plugin.themisgate_routs = lambda ctx: []  # type: ignore[attr-defined]
    with pytest.raises(ConfigError) as caught:
        load_plugins(make_settings(), direct=[plugin])
    text = str(caught.value)
    assert (
        "plugin 'typo' has unknown hook themisgate_routs; did you mean themisgate_routes?" in text
    )


def test_optional_plugin_with_bad_settings_is_skipped_not_fatal() -> None:
    plugin = Named("limits", Config=LimitsConfig)
    settings = make_settings({"plugins": {"limits": {"optional": True, "burst": "x"}}})
    loaded = load_plugins(settings, direct=[plugin])
    assert [s.name for s in loaded.skipped] == ["limits"]
    assert "burst" in loaded.skipped[0].reason
    assert "limits" not in [p.name for p in loaded.ordered]


def test_route_collision_names_both_plugins() -> None:
    one = routes_plugin("one", shared_one)
    two = routes_plugin("two", shared_two)
    with pytest.raises(ConfigError) as caught:
        make_app(one, two)
    text = str(caught.value)
    assert "GET /shared is claimed by both plugin 'one' and plugin 'two'" in text


def test_config_struct_must_be_a_struct() -> None:
    plugin = Named("weird", Config=dict)
    with pytest.raises(ConfigError, match="`Config` must be a Struct"):
        load_plugins(make_settings(), direct=[plugin])


def test_firstresult_hooks_ask_higher_priority_plugins_first() -> None:
    calls: list[str] = []

    def embedder_of(name: str) -> object:
        def hook(ctx: object, settings: object) -> object:
            calls.append(name)
            return None

        return hook

    first = Named("first", priority=10, themisgate_embedder=embedder_of("first"))
    second = Named("second", priority=1, themisgate_embedder=embedder_of("second"))
    make_app(second, first)
    # both answered None, so both were asked, highest priority first, then the core
    assert calls == ["first", "second"]
