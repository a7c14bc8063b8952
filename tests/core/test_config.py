"""plugins.toml: every problem at once, each naming file, table and key; env overrides;
secret references."""

from __future__ import annotations

from pathlib import Path

import pytest

from themisgate import ConfigError, Secret, load_settings
from themisgate.config import redacted


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plugins.toml"
    path.write_text(text)
    return path


def messages(error: ConfigError) -> list[str]:
    return [str(p) for p in error.problems]


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.source == "defaults"
    assert settings.core.port == 8000
    assert settings.core.themis.backend == "embedded"


def test_wrong_type_and_unknown_key_are_all_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[core]\nport = "eighty"\nhots = "0.0.0.0"\n[core.themis]\nbackend = "sqlite"\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    lines = messages(caught.value)
    assert len(lines) == 3
    assert any(
        line.startswith(f"{path}: [core] port: expected int") and "'eighty'" in line
        for line in lines
    )
    assert any(f"{path}: [core] hots: unknown key; did you mean 'host'?" in line for line in lines)
    assert any(f"{path}: [core.themis] backend:" in line and "'sqlite'" in line for line in lines)


def test_toml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "[core]\nport = \n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    (line,) = messages(caught.value)
    assert line.startswith(f"{path}:2:")
    assert "line 2, column" in line


def test_missing_file_given_explicitly(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_range_checks_are_reported_with_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, "[core]\nport = 70000\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    assert messages(caught.value) == [f"{path}: [core] port: expected int <= 65535; found 70000"]


def test_environment_overrides_are_typed_and_named_in_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "[core]\nport = 8000\n")
    settings = load_settings(
        path,
        environ={
            "THEMISGATE__CORE__PORT": "9001",
            "THEMISGATE__CORE__THEMIS__BACKEND": "http",
            "THEMISGATE__PLUGINS__HELLO__GREETING": "Moin",
            "UNRELATED": "x",
        },
    )
    assert settings.core.port == 9001
    assert settings.core.themis.backend == "http"
    assert settings.plugins["hello"].options == {"greeting": "Moin"}

    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={"THEMISGATE__CORE__WORKERS": "many"})
    (line,) = messages(caught.value)
    assert line.startswith("environment variable THEMISGATE__CORE__WORKERS: [core] workers:")


def test_secret_references_resolve_and_stay_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_file = tmp_path / "token"
    secret_file.write_text("file-secret-value\n")
    path = write(
        tmp_path,
        f'[core.themis]\ntoken = {{ file = "{secret_file}" }}\n'
        '[core.themis.embedder]\napi_key = { env = "EMBED_KEY" }\n',
    )
    monkeypatch.setenv("EMBED_KEY", "env-secret-value")
    settings = load_settings(path, environ={})
    token = settings.core.themis.token
    assert isinstance(token, Secret)
    assert token.reveal() == "file-secret-value"
    assert settings.core.themis.embedder.api_key is not None
    assert settings.core.themis.embedder.api_key.reveal() == "env-secret-value"
    shown = repr(redacted(settings.core)) + repr(settings) + str(token)
    assert "file-secret-value" not in shown
    assert "env-secret-value" not in shown
    assert "env:EMBED_KEY" in shown


def test_unset_secret_reference_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, '[core.themis]\ntoken = { env = "THEMISGATE_TEST_UNSET_VAR" }\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    (line,) = messages(caught.value)
    assert "[core.themis] token: environment variable THEMISGATE_TEST_UNSET_VAR is not set" in line


def test_plugin_table_loader_flags_must_be_booleans(tmp_path: Path) -> None:
    path = write(tmp_path, '[plugins.hello]\nenabled = "yes"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    assert (
        "[plugins.hello] enabled: expected true or false; found 'yes'" in messages(caught.value)[0]
    )


def test_unknown_top_level_table(tmp_path: Path) -> None:
    path = write(tmp_path, "[server]\nport = 1\n")
    with pytest.raises(ConfigError, match="server: unknown table"):
        load_settings(path, environ={})
