"""The Python `mcp` SDK (2.3) as a client of the real `switchboard` binary.

Every test runs four ways: Streamable HTTP and stdio, each in `auto` mode
(which must settle on the modern, stateless 2026-07-28 protocol: the host
implements `server/discover`) and in `legacy` mode (the 2025-11-25
initialize handshake). The host serves the testkit fixture as `kit_*`.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import mcp.types as types
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

pytestmark = pytest.mark.anyio

MODERN = "2026-07-28"
LEGACY = "2025-11-25"
# Generous: a debug host compiles the component on first use.
TEST_TIMEOUT_S = 30.0
# What the spec allows for a tool name, narrowed to what most clients accept.
PORTABLE_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Connection:
    transport: str  # "http" | "stdio"
    mode: str  # Client(mode=...)
    era: str  # the protocol version the client must end up speaking
    server: Any  # URL or StdioServerParameters

    def client(self, **kwargs: Any) -> Client:
        return Client(self.server, mode=self.mode, read_timeout_seconds=TEST_TIMEOUT_S, **kwargs)

    @property
    def modern(self) -> bool:
        return self.era == MODERN


HTTP_AUTO = pytest.param(("http", "auto", MODERN), id="http-auto")
HTTP_LEGACY = pytest.param(("http", "legacy", LEGACY), id="http-legacy")
STDIO_AUTO = pytest.param(("stdio", "auto", MODERN), id="stdio-auto")
STDIO_LEGACY = pytest.param(("stdio", "legacy", LEGACY), id="stdio-legacy")


def _connection(request: pytest.FixtureRequest) -> Connection:
    transport, mode, era = request.param
    if transport == "http":
        server = request.getfixturevalue("http_host").url
    else:
        server = request.getfixturevalue("stdio_params")
    return Connection(transport, mode, era, server)


@pytest.fixture(params=[HTTP_AUTO, HTTP_LEGACY, STDIO_AUTO, STDIO_LEGACY])
def connection(request: pytest.FixtureRequest) -> Connection:
    """Each transport, in each mode."""
    return _connection(request)


@pytest.fixture(params=[HTTP_AUTO, STDIO_AUTO])
def modern_connection(request: pytest.FixtureRequest) -> Connection:
    """Each transport, in auto mode (so speaking 2026-07-28)."""
    return _connection(request)


@asynccontextmanager
async def connected(connection: Connection, **kwargs: Any) -> AsyncIterator[Client]:
    """An entered client, with the whole test bounded in time."""
    with anyio.fail_after(TEST_TIMEOUT_S):
        async with connection.client(**kwargs) as client:
            yield client


def only_text(result: types.CallToolResult) -> str:
    assert len(result.content) == 1, result
    block = result.content[0]
    assert isinstance(block, types.TextContent), result
    return block.text


async def test_negotiates_the_expected_era(connection: Connection) -> None:
    async with connected(connection) as client:
        assert client.protocol_version == connection.era
        assert client.server_info is not None
        assert client.server_info.name == "switchboard"
        assert client.server_capabilities.tools is not None


async def test_lists_the_testkit_tools(connection: Connection) -> None:
    async with connected(connection) as client:
        listing = await client.list_tools()
        tools = {tool.name: tool for tool in listing.tools}

        assert {"kit_echo", "kit_add", "kit_strict", "kit_progress", "kit_log"} <= tools.keys()
        for name in tools:
            assert PORTABLE_TOOL_NAME.match(name), name

        echo = tools["kit_echo"]
        assert echo.title == "Echo"
        assert echo.description == "Returns the given text unchanged"
        assert echo.input_schema["required"] == ["text"]
        assert echo.input_schema["properties"]["text"]["type"] == "string"
        assert echo.annotations is not None and echo.annotations.read_only_hint is True

        add = tools["kit_add"]
        assert add.output_schema is not None
        assert add.output_schema["properties"] == {"sum": {"type": "number"}}
        assert add.output_schema["required"] == ["sum"]


async def test_calls_echo(connection: Connection) -> None:
    async with connected(connection) as client:
        result = await client.call_tool("kit_echo", {"text": "hello, switchboard ✓"})
        assert result.is_error is False
        assert only_text(result) == "hello, switchboard ✓"


async def test_add_returns_structured_content(connection: Connection) -> None:
    async with connected(connection) as client:
        result = await client.call_tool("kit_add", {"a": 2, "b": 3})
        assert result.is_error is False
        assert result.structured_content == {"sum": 5}
        # The same value as a text block, for clients that only read content.
        assert json.loads(only_text(result)) == {"sum": 5}

        result = await client.call_tool("kit_add", {"a": 1.5, "b": 2.25})
        assert result.structured_content == {"sum": 3.75}


async def test_invalid_arguments_are_an_error_result(connection: Connection) -> None:
    async with connected(connection) as client:
        # Rejected by the host against the tool's input schema, naming each problem.
        result = await client.call_tool("kit_strict", {"count": 0, "mode": "c"})
        assert result.is_error is True
        message = only_text(result)
        assert "invalid arguments" in message
        assert "kit_strict" in message
        assert "/count" in message and "minimum" in message
        assert "/mode" in message

        result = await client.call_tool("kit_add", {"a": "two", "b": 3})
        assert result.is_error is True
        assert "/a" in only_text(result)

        # A valid call on the same connection still works.
        result = await client.call_tool("kit_strict", {"count": 2, "mode": "b"})
        assert result.is_error is False
        assert only_text(result) == "count=2 mode=b"


async def test_unknown_tool_is_a_protocol_error(connection: Connection) -> None:
    async with connected(connection) as client:
        with pytest.raises(MCPError) as raised:
            await client.call_tool("kit_no_such_tool", {})
        assert raised.value.code == types.INVALID_PARAMS
        assert "kit_no_such_tool" in raised.value.message

        # The connection survives the error.
        assert only_text(await client.call_tool("kit_echo", {"text": "still here"})) == "still here"


async def test_a_crashing_tool_is_an_error_result(connection: Connection) -> None:
    async with connected(connection) as client:
        result = await client.call_tool("kit_trap", {})
        assert result.is_error is True
        assert "fixture panic" in only_text(result)

        # The trapped instance is gone; the next call gets a fresh one.
        assert only_text(await client.call_tool("kit_echo", {"text": "after"})) == "after"


async def test_progress_reaches_the_callback(connection: Connection) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with connected(connection) as client:
        result = await client.call_tool("kit_progress", {"steps": 3}, progress_callback=on_progress)
        assert only_text(result) == "done"
    assert seen == [(1.0, 3.0, "step 1"), (2.0, 3.0, "step 2"), (3.0, 3.0, "step 3")]


def log_collector() -> tuple[list[tuple[str, Any]], Callable[[types.LoggingMessageNotificationParams], Any]]:
    seen: list[tuple[str, Any]] = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        seen.append((params.level, params.data))

    return seen, on_log


async def test_log_messages_honour_the_requested_level(connection: Connection) -> None:
    seen, on_log = log_collector()
    # 2026-07-28 opts in per request (`_meta` logLevel, which `log_level=` stamps);
    # 2025-11-25 sets the session's level with logging/setLevel.
    extra = {"log_level": "info"} if connection.modern else {}
    async with connected(connection, logging_callback=on_log, **extra) as client:
        if not connection.modern:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # deprecated in the modern era only
                await client.set_logging_level("info")
        result = await client.call_tool("kit_log", {"message": "hi"})
        assert result.is_error is False
    assert seen == [("info", "hi"), ("warning", "hi"), ("error", "hi")]


async def test_modern_requests_without_a_log_level_get_no_logs(modern_connection: Connection) -> None:
    # 2026-07-28 only: a legacy session logs until logging/setLevel says otherwise.
    seen, on_log = log_collector()
    async with connected(modern_connection, logging_callback=on_log) as client:
        result = await client.call_tool("kit_log", {"message": "hi"})
        assert result.is_error is False
    assert seen == []
