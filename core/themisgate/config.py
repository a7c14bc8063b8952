"""`plugins.toml` + environment overrides + secret references → typed settings.

The file has a `[core]` table (server, logging, `[core.themis]` for the database) and one
`[plugins.<name>]` table per plugin. In a plugin's table `enabled` (default true once the
table exists) and `optional` (default false: a plugin that fails to load stops start-up)
belong to the loader; every other key is the plugin's own and is validated against its
`Config` when the plugin is loaded (see `plugins.py`).

Environment overrides: `THEMISGATE__<TABLE>__<KEY>=value`, with `__` between path
segments, case-insensitive, e.g. `THEMISGATE__CORE__PORT=9000`,
`THEMISGATE__CORE__THEMIS__BACKEND=http`, `THEMISGATE__PLUGINS__RATELIMIT__ENABLED=false`.
The value is read as a TOML value when it parses as one (`9000`, `true`, `["a", "b"]`),
as a plain string otherwise. The file to read is `--config`, else `$THEMISGATE_CONFIG`,
else `./plugins.toml` if it exists, else the built-in defaults.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from .secrets import REDACTED, Secret
from .themis.settings import ThemisSettings
from .validation import ConfigError, Problem, convert_table

CONFIG_ENV = "THEMISGATE_CONFIG"
ENV_PREFIX = "THEMISGATE__"
DEFAULT_FILE = "plugins.toml"
LOADER_KEYS = frozenset({"enabled", "optional"})


class CoreSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`[core]`: the server itself."""

    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 8000
    workers: Annotated[int, msgspec.Meta(ge=1)] = 1
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # auto: JSON when stderr is not a terminal, coloured key=value when it is
    log_format: Literal["auto", "json", "console"] = "auto"
    access_log: bool = True
    # larger request bodies are refused with 413 before they are read in full
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1)] = 4 * 1024 * 1024
    request_id_header: str = "X-Request-ID"
    # the tier of a caller no plugin identified (the core identifies by client IP)
    default_tier: str = "free"
    # after start-up, exempt what start-up built from the cyclic garbage collector (see
    # gc_freeze in app.py): full collections stop stalling requests for tens of ms
    gc_freeze: bool = True
    themis: ThemisSettings = msgspec.field(default_factory=ThemisSettings)


class PluginTable(msgspec.Struct, frozen=True):
    """One `[plugins.<name>]` table as the loader sees it, before the plugin validates it."""

    name: str
    enabled: bool = True
    optional: bool = False
    options: dict[str, Any] = {}


class Settings(msgspec.Struct, frozen=True):
    core: CoreSettings
    plugins: dict[str, PluginTable]
    # where the settings came from, for messages: a file path or "defaults"
    source: str = "defaults"
    # dotted `table.key` → the environment variable that set it
    origins: dict[str, str] = {}

    def enabled_plugins(self) -> list[str]:
        return [name for name, table in self.plugins.items() if table.enabled]


def find_config_file(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    if explicit:
        return Path(explicit)
    if env := os.environ.get(CONFIG_ENV):
        return Path(env)
    default = Path(DEFAULT_FILE)
    return default if default.is_file() else None


_TOML_POSITION = re.compile(r"^(?P<msg>.*) \(at line (?P<line>\d+), column (?P<col>\d+)\)$")


def read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([Problem(str(path), "", None, "file not found")]) from None
    except OSError as exc:
        raise ConfigError([Problem(str(path), "", None, f"cannot read: {exc.strerror}")]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POSITION.match(str(exc))
        if match:
            where = f"{path}:{match['line']}:{match['col']}"
            message = f"TOML syntax error at line {match['line']}, column {match['col']}: "
            raise ConfigError([Problem(where, "", None, message + match["msg"])]) from None
        raise ConfigError([Problem(str(path), "", None, f"TOML syntax error: {exc}")]) from None


def _parse_env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def apply_env_overrides(
    data: dict[str, Any], environ: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Overlay `THEMISGATE__A__B=…` variables onto the parsed file; return the new data
    and where each overridden dotted key came from."""
    origins: dict[str, str] = {}
    for var in sorted(environ):
        if not var.upper().startswith(ENV_PREFIX):
            continue
        path = [part.lower() for part in var[len(ENV_PREFIX) :].split("__") if part]
        if len(path) < 2:
            continue
        node = data
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[path[-1]] = _parse_env_value(environ[var])
        origins[".".join(path)] = f"environment variable {var}"
    return data, origins


def load_settings(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    data: dict[str, Any] | None = None,
) -> Settings:
    """Read, overlay and validate the core settings and the loader's view of each plugin.
    Raises `ConfigError` listing every problem. `data` replaces the file (tests)."""
    environ = os.environ if environ is None else environ
    source = "settings"
    if data is None:
        file = find_config_file(path)
        if file is not None:
            data = read_toml(file)
            source = str(file)
        else:
            data, source = {}, "defaults"
    data, origins = apply_env_overrides(dict(data), environ)

    problems: list[Problem] = []
    for key in data:
        if key not in ("core", "plugins"):
            problems.append(
                Problem(origins.get(key, source), "", key, "unknown table; expected core, plugins")
            )
    core, core_problems = convert_table(
        data.get("core", {}), CoreSettings, source=source, table="core", origins=origins
    )
    problems.extend(core_problems)
    plugins, plugin_problems = _plugin_tables(data.get("plugins", {}), source, origins)
    problems.extend(plugin_problems)
    if problems or core is None:
        raise ConfigError(problems)
    return Settings(core=core, plugins=plugins, source=source, origins=origins)


def _plugin_tables(
    raw: Any, source: str, origins: dict[str, str]
) -> tuple[dict[str, PluginTable], list[Problem]]:
    if not isinstance(raw, dict):
        return {}, [Problem(source, "plugins", None, "expected a table of plugin tables")]
    tables: dict[str, PluginTable] = {}
    problems: list[Problem] = []
    for name, table in raw.items():
        where = f"plugins.{name}"
        if not isinstance(table, dict):
            problems.append(Problem(source, where, None, "expected a table"))
            continue
        for flag in LOADER_KEYS:
            if flag in table and not isinstance(table[flag], bool):
                problems.append(
                    Problem(
                        origins.get(f"{where}.{flag}", source),
                        where,
                        flag,
                        f"expected true or false; found {table[flag]!r}",
                    )
                )
        options = {k: v for k, v in table.items() if k not in LOADER_KEYS}
        tables[name] = PluginTable(
            name=name,
            enabled=table.get("enabled", True) is True,
            optional=table.get("optional", False) is True,
            options=options,
        )
    return tables, problems


# A safety net for plugins that type a secret as `str`: such keys are hidden too.
_SECRET_NAME = re.compile(r"(token|secret|password|passwd|api_?key|credential)s?$", re.I)


def _redact(value: Any) -> Any:
    if isinstance(value, Secret):
        return value.describe()
    if isinstance(value, dict):
        return {
            k: REDACTED
            if isinstance(v, str) and _SECRET_NAME.search(str(k)) and not v.startswith(REDACTED)
            else _redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    return value


def redacted(value: Any) -> Any:
    """A JSON-ready view of settings with every `Secret` replaced by its description."""
    if isinstance(value, msgspec.Struct):
        return _redact(msgspec.to_builtins(value, enc_hook=_keep_secret))
    return _redact(value)


def _keep_secret(value: Any) -> Any:
    if isinstance(value, Secret):
        return value.describe()
    raise NotImplementedError(f"cannot show {type(value).__name__}")
