"""The protocol and operator docs keep up with the code: every setting, every client
action, every frame type and every error code is documented, in prose and in AsyncAPI."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import msgspec
import yaml

from themisgate_websocket import Config, protocol
from themisgate_websocket.statusfeed import StatusFrame

DOCS = Path(__file__).parents[2] / "docs"
PROTOCOL = (DOCS / "websocket-protocol.md").read_text()
OPERATOR = (DOCS / "websocket.md").read_text()
ASYNCAPI: dict[str, Any] = yaml.safe_load((DOCS / "websocket-asyncapi.yaml").read_text())


def _tags(base: type) -> set[str]:
    found = set()
    for cls in base.__subclasses__():
        tag = cls.__struct_config__.tag
        if isinstance(tag, str):
            found.add(tag)
    return found


FRAME_TYPES = _tags(protocol.Frame) | {StatusFrame.__struct_config__.tag, "log"}
ACTIONS = set(protocol.BUILTIN_ACTIONS)
ERROR_CODES = {
    value
    for name, value in vars(protocol).items()
    if name.isupper() and isinstance(value, str) and re.fullmatch(r"[a-z_]+", value)
}


def test_every_setting_is_in_the_operator_doc() -> None:
    for field in msgspec.structs.fields(Config):
        assert f"| `{field.name}` |" in OPERATOR, field.name


def test_every_frame_action_and_error_code_is_in_the_protocol_doc() -> None:
    for frame_type in FRAME_TYPES:
        assert f"| `{frame_type}` |" in PROTOCOL, frame_type
    for action in ACTIONS:
        assert f"`{action}`" in PROTOCOL, action
    for code in ERROR_CODES:
        assert f"`{code}`" in PROTOCOL, code


def test_the_asyncapi_document_names_every_message_and_error_code() -> None:
    assert ASYNCAPI["asyncapi"] == "3.0.0"
    names = {message["name"] for message in ASYNCAPI["components"]["messages"].values()}
    assert names >= FRAME_TYPES | ACTIONS
    error_enum = set(ASYNCAPI["components"]["schemas"]["Error"]["properties"]["code"]["enum"])
    assert error_enum == ERROR_CODES
    addresses = {channel["address"] for channel in ASYNCAPI["channels"].values()}
    assert addresses == {
        "/api/v4/ws/search",
        "/api/v4/ws/adapter/status",
        "/api/v4/ws/logs",
        "/api/v4/events/status",
        "/api/v4/events/logs",
    }
