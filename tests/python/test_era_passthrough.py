"""Results of upstream MCP servers reach clients in the client's protocol era.

The host serves the testkit fixture plugin (`kit_*`) beside three upstreams
of different eras, all over stdio:

    everything  @modelcontextprotocol/server-everything (npm): 2025-11-25 only
    time        mcp-server-time (PyPI, Python `mcp` 2.3): 2026-07-28, tools only
    modern      a tiny Python `mcp` 2.3 `MCPServer` written below (one tool,
                one resource, one prompt): 2026-07-28

Each `tools/call` of an upstream tool, `resources/read` of an upstream
resource (`upstream://NAME/<its uri>`) and `prompts/get` of an upstream
prompt (`NAME_<prompt>`) must come back in the era the *client* speaks,
whichever era the upstream speaks:

- a 2026-07-28 client (`mode="2026-07-28"`, or `"auto"`, which negotiates it)
  gets `resultType: "complete"` (and `ttlMs` + `cacheScope` on
  `resources/read`), even from a legacy upstream that never sends them;
- a 2025-11-25 session gets none of `resultType`, `ttlMs`, `cacheScope`, even
  from a modern upstream that sends them.

Checked two ways: with the Python `mcp` SDK client in each mode (over
Streamable HTTP against one shared host process, and over stdio), and with raw
JSON-RPC over HTTP so the wire fields themselves are asserted, against the
pinned SDK's generated wire models of each era.

Needs what `tests/python/run.sh` provides (SWITCHBOARD_BIN,
SWITCHBOARD_WASM_DIR; see conftest.py) plus the upstreams installed by
`tests/upstreams/install.sh` and a `node` (>= 20) on PATH (or
SWITCHBOARD_E2E_NODE). Missing pieces fail the tests, naming the fix; nothing
is skipped.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import mcp.types as types
import mcp_types._v2025_11_25 as wire_legacy
import mcp_types._v2026_07_28 as wire_modern
import pytest
from mcp import Client, StdioServerParameters
from pydantic import BaseModel, ValidationError

from conftest import EVERYTHING_JS, HttpHost, node_binary, require_installed, serve_http

pytestmark = pytest.mark.anyio

MODERN = "2026-07-28"
LEGACY = "2025-11-25"
TEST_TIMEOUT_S = 30.0
STARTUP_TIMEOUT_S = 90.0

ROOT = Path(__file__).resolve().parents[2]
UPSTREAMS = ROOT / "tests" / "upstreams"
EVERYTHING_DOC = UPSTREAMS / "node_modules/@modelcontextprotocol/server-everything/dist/docs/architecture.md"
TIME_SERVER = UPSTREAMS / ".venv/bin/mcp-server-time"

# The modern-era upstream: run with this interpreter (the test venv, which has
# `mcp` 2.3), so it speaks 2026-07-28 to the host.
MODERN_UPSTREAM_SOURCE = '''\
from mcp.server.mcpserver import MCPServer

server = MCPServer("era-modern-upstream", version="1.0.0")


@server.tool()
def shout(text: str) -> str:
    """Uppercase a text and add an exclamation mark."""
    return text.upper() + "!"


@server.resource("note://greeting", mime_type="text/plain")
def greeting() -> str:
    """A fixed greeting."""
    return "hello from the modern upstream"


@server.prompt()
def haiku(topic: str) -> str:
    """Ask for a haiku."""
    return f"Write a haiku about {topic}."


if __name__ == "__main__":
    server.run()
'''


# ----------------------------------------------------------------- the cases


@dataclass(frozen=True)
class ToolCase:
    upstream: str  # config name, or "kit" for the plugin control
    era: str  # the era the provider speaks
    tool: str
    arguments: dict[str, Any]

    def check(self, result: dict[str, Any]) -> None:
        """Asserts the (wire-shaped, camelCase) result is the right answer."""
        assert result.get("isError") in (None, False), result
        texts = [block.get("text") for block in result["content"] if block.get("type") == "text"]
        if self.tool == "everything_echo":
            assert texts == ["Echo: hi there"], result
        elif self.tool == "time_get_current_time":
            structured = result.get("structuredContent")
            assert isinstance(structured, dict), result
            assert structured["timezone"] == "UTC", result
            assert isinstance(structured["datetime"], str), result
        elif self.tool == "modern_shout":
            assert texts == ["HI THERE!"], result
        elif self.tool == "kit_echo":
            assert texts == ["hi there"], result
        else:  # pragma: no cover
            raise AssertionError(f"no expectation for {self.tool}")


@dataclass(frozen=True)
class ResourceCase:
    upstream: str
    era: str
    uri: str  # as the host exposes it

    def expected_text(self) -> str:
        if self.upstream == "everything":
            return require_installed(EVERYTHING_DOC).read_text()
        return "hello from the modern upstream"

    def check(self, result: dict[str, Any]) -> None:
        contents = result["contents"]
        assert len(contents) == 1, result
        assert contents[0]["uri"] == self.uri, result
        assert contents[0]["text"] == self.expected_text(), result


@dataclass(frozen=True)
class PromptCase:
    upstream: str
    era: str
    name: str  # as the host exposes it
    arguments: dict[str, str]
    text: str  # of the single user message

    def check(self, result: dict[str, Any]) -> None:
        messages = result["messages"]
        assert len(messages) == 1, result
        assert messages[0]["role"] == "user", result
        content = messages[0]["content"]
        assert content.get("type") == "text" and content.get("text") == self.text, result


TOOLS = [
    ToolCase("everything", LEGACY, "everything_echo", {"message": "hi there"}),
    ToolCase("time", MODERN, "time_get_current_time", {"timezone": "UTC"}),
    ToolCase("modern", MODERN, "modern_shout", {"text": "hi there"}),
    ToolCase("kit", "plugin", "kit_echo", {"text": "hi there"}),
]
RESOURCES = [
    ResourceCase("everything", LEGACY, "upstream://everything/demo://resource/static/document/architecture.md"),
    ResourceCase("modern", MODERN, "upstream://modern/note://greeting"),
]
PROMPTS = [
    PromptCase("everything", LEGACY, "everything_args-prompt", {"city": "Paris"}, "What's weather in Paris?"),
    PromptCase("modern", MODERN, "modern_haiku", {"topic": "rust"}, "Write a haiku about rust."),
]


def _ids(cases: list[Any]) -> list[str]:
    return [f"{case.upstream}-{case.era}" for case in cases]


# Client(mode=...) -> the era it must end up speaking.
MODES = [
    pytest.param(("2026-07-28", MODERN), id="client-modern"),
    pytest.param(("auto", MODERN), id="client-auto"),
    pytest.param(("legacy", LEGACY), id="client-legacy"),
]


# ------------------------------------------------------------ the host setup


def _toml_array(items: list[str]) -> str:
    # A JSON array of strings is a valid TOML array.
    return json.dumps(items)


@pytest.fixture(scope="module")
def host_config(artifacts: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("era-passthrough")
    modern_script = root / "modern_upstream.py"
    modern_script.write_text(MODERN_UPSTREAM_SOURCE)
    config = root / "switchboard.toml"
    config.write_text(
        "[server]\n"
        f"cache_dir = {json.dumps(str(root / 'cache'))}\n"
        "\n"
        "[plugins.kit]\n"
        f"component = {json.dumps(str(artifacts.wasm_dir / 'testkit_fixture.wasm'))}\n"
        "\n"
        "[upstreams.everything]\n"
        f"command = {_toml_array([node_binary(), str(require_installed(EVERYTHING_JS)), 'stdio'])}\n"
        "\n"
        "[upstreams.time]\n"
        f"command = {_toml_array([str(require_installed(TIME_SERVER)), '--local-timezone', 'UTC'])}\n"
        "\n"
        "[upstreams.modern]\n"
        f"command = {_toml_array([sys.executable, str(modern_script)])}\n"
    )
    return config


Host = HttpHost


@pytest.fixture(scope="module")
def host(artifacts: Any, host_config: Path) -> Iterator[Host]:
    """One `switchboard serve --http 127.0.0.1:0` for the whole module."""
    env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "info")}
    with serve_http(artifacts.bin, host_config, env, STARTUP_TIMEOUT_S) as host:
        _wait_for_upstreams(host)
        yield host


def _wait_for_upstreams(host: Host) -> None:
    """Until every provider's tools are listed (the host waits for them at
    start, but a slow machine may let the first list come early)."""
    wanted = {case.tool for case in TOOLS}
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    names: set[str] = set()
    while time.monotonic() < deadline:
        names = set()
        cursor = None
        while True:
            params: dict[str, Any] = {"cursor": cursor} if cursor else {}
            result = modern_rpc(host.url, "tools/list", params)["result"]
            names |= {tool["name"] for tool in result["tools"]}
            cursor = result.get("nextCursor")
            if not cursor:
                break
        if wanted <= names:
            return
        time.sleep(0.2)
    pytest.fail(f"tools {sorted(wanted - names)} never listed; host log:\n{host.log_tail()}", pytrace=False)


# ------------------------------------------------------- raw JSON-RPC helper

_ids_counter = itertools.count(1)


@dataclass
class HttpReply:
    status: int
    headers: Any
    messages: list[dict[str, Any]]

    def response(self, request_id: int) -> dict[str, Any]:
        for message in self.messages:
            if message.get("id") == request_id and ("result" in message or "error" in message):
                return message
        raise AssertionError(f"no response to request {request_id} (HTTP {self.status}): {self.messages}")


def _post(url: str, body: dict[str, Any], headers: dict[str, str], method: str = "POST") -> HttpReply:
    data = json.dumps(body).encode() if body else None
    request = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            **headers,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TEST_TIMEOUT_S) as reply:
            status, reply_headers, raw = reply.status, reply.headers, reply.read()
    except urllib.error.HTTPError as error:
        status, reply_headers, raw = error.code, error.headers, error.read()
    text = raw.decode()
    messages: list[dict[str, Any]] = []
    if (reply_headers.get("Content-Type") or "").startswith("text/event-stream"):
        for event in re.split(r"\r?\n\r?\n", text):
            data_lines = [line[5:].lstrip() for line in event.splitlines() if line.startswith("data:")]
            payload = "\n".join(data_lines).strip()
            if payload:
                messages.append(json.loads(payload))
    elif text.strip():
        parsed = json.loads(text)
        messages.extend(parsed if isinstance(parsed, list) else [parsed])
    return HttpReply(status, reply_headers, messages)


def _mcp_name(method: str, params: dict[str, Any]) -> str | None:
    """The `Mcp-Name` header value (2026-07-28 Streamable HTTP)."""
    key = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}.get(method)
    if key is None:
        return None
    value = params[key]
    assert value.isascii() and value == value.strip(), f"{value!r} would need Base64 header encoding"
    return value


def modern_rpc(url: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """One stateless 2026-07-28 request: no initialize, no session; the
    per-request `_meta` envelope and the HTTP headers the spec wants."""
    request_id = next(_ids_counter)
    body_params = {
        **params,
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "era-passthrough-test", "version": "1.0.0"},
        },
    }
    headers = {"MCP-Protocol-Version": MODERN, "Mcp-Method": method}
    if (name := _mcp_name(method, params)) is not None:
        headers["Mcp-Name"] = name
    reply = _post(url, {"jsonrpc": "2.0", "id": request_id, "method": method, "params": body_params}, headers)
    assert "Mcp-Session-Id" not in reply.headers, f"a modern request got a session: {reply.headers}"
    response = reply.response(request_id)
    assert reply.status == 200, f"HTTP {reply.status}: {response}"
    return response


class LegacySession:
    """A 2025-11-25 Streamable HTTP session, opened with `initialize`."""

    def __init__(self, url: str) -> None:
        self.url = url
        request_id = next(_ids_counter)
        reply = _post(
            url,
            {
                "jsonrpc": "2.0",
                "id": request_id,
                "method": "initialize",
                "params": {
                    "protocolVersion": LEGACY,
                    "capabilities": {},
                    "clientInfo": {"name": "era-passthrough-test", "version": "1.0.0"},
                },
            },
            {},
        )
        response = reply.response(request_id)
        assert reply.status == 200 and "result" in response, response
        assert response["result"]["protocolVersion"] == LEGACY, response
        session_id = reply.headers.get("Mcp-Session-Id")
        assert session_id, f"initialize returned no Mcp-Session-Id: {reply.headers}"
        self.headers = {"Mcp-Session-Id": session_id, "MCP-Protocol-Version": LEGACY}
        initialized = _post(url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, self.headers)
        assert initialized.status == 202, initialized

    def rpc(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        request_id = next(_ids_counter)
        reply = _post(self.url, {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}, self.headers)
        response = reply.response(request_id)
        assert reply.status == 200, f"HTTP {reply.status}: {response}"
        return response

    def close(self) -> None:
        _post(self.url, {}, self.headers, method="DELETE")


@pytest.fixture
def legacy_session(host: Host) -> Iterator[LegacySession]:
    session = LegacySession(host.url)
    try:
        yield session
    finally:
        session.close()


def _result(response: dict[str, Any]) -> dict[str, Any]:
    assert "error" not in response, f"JSON-RPC error: {response['error']}"
    return response["result"]


def _validate(model: type[BaseModel], result: dict[str, Any], era: str) -> None:
    try:
        model.model_validate(result)
    except ValidationError as error:
        raise AssertionError(f"not a valid {era} {model.__name__}: {error}\n{json.dumps(result)}") from None


CACHE_FIELDS = ("resultType", "ttlMs", "cacheScope")


def _assert_legacy_shape(result: dict[str, Any]) -> None:
    leaked = {key: result[key] for key in CACHE_FIELDS if key in result}
    assert not leaked, f"2026-07-28 fields in a 2025-11-25 result: {leaked}\n{json.dumps(result)}"


def _assert_modern_shape(result: dict[str, Any], cacheable: bool) -> None:
    assert result.get("resultType") == "complete", (
        f"a 2026-07-28 result needs resultType \"complete\", got {result.get('resultType')!r}\n{json.dumps(result)}"
    )
    if cacheable:
        assert isinstance(result.get("ttlMs"), int) and result["ttlMs"] >= 0, json.dumps(result)
        assert result.get("cacheScope") in ("public", "private"), json.dumps(result)


# ------------------------------------------------- raw wire: 2026-07-28


@pytest.mark.parametrize("case", TOOLS, ids=_ids(TOOLS))
def test_modern_wire_tools_call(host: Host, case: ToolCase) -> None:
    result = _result(modern_rpc(host.url, "tools/call", {"name": case.tool, "arguments": case.arguments}))
    _assert_modern_shape(result, cacheable=False)
    _validate(wire_modern.CallToolResult, result, MODERN)
    case.check(result)


@pytest.mark.parametrize("case", RESOURCES, ids=_ids(RESOURCES))
def test_modern_wire_resources_read(host: Host, case: ResourceCase) -> None:
    result = _result(modern_rpc(host.url, "resources/read", {"uri": case.uri}))
    _assert_modern_shape(result, cacheable=True)
    _validate(wire_modern.ReadResourceResult, result, MODERN)
    case.check(result)


@pytest.mark.parametrize("case", PROMPTS, ids=_ids(PROMPTS))
def test_modern_wire_prompts_get(host: Host, case: PromptCase) -> None:
    result = _result(modern_rpc(host.url, "prompts/get", {"name": case.name, "arguments": case.arguments}))
    _assert_modern_shape(result, cacheable=False)
    _validate(wire_modern.GetPromptResult, result, MODERN)
    case.check(result)


# ------------------------------------------------- raw wire: 2025-11-25


@pytest.mark.parametrize("case", TOOLS, ids=_ids(TOOLS))
def test_legacy_wire_tools_call(legacy_session: LegacySession, case: ToolCase) -> None:
    result = _result(legacy_session.rpc("tools/call", {"name": case.tool, "arguments": case.arguments}))
    _assert_legacy_shape(result)
    _validate(wire_legacy.CallToolResult, result, LEGACY)
    case.check(result)


@pytest.mark.parametrize("case", RESOURCES, ids=_ids(RESOURCES))
def test_legacy_wire_resources_read(legacy_session: LegacySession, case: ResourceCase) -> None:
    result = _result(legacy_session.rpc("resources/read", {"uri": case.uri}))
    _assert_legacy_shape(result)
    _validate(wire_legacy.ReadResourceResult, result, LEGACY)
    case.check(result)


@pytest.mark.parametrize("case", PROMPTS, ids=_ids(PROMPTS))
def test_legacy_wire_prompts_get(legacy_session: LegacySession, case: PromptCase) -> None:
    result = _result(legacy_session.rpc("prompts/get", {"name": case.name, "arguments": case.arguments}))
    _assert_legacy_shape(result)
    _validate(wire_legacy.GetPromptResult, result, LEGACY)
    case.check(result)


# ------------------------------------------- the Python SDK client, per mode


def _wire(result: BaseModel) -> dict[str, Any]:
    return result.model_dump(by_alias=True, exclude_none=True, mode="json")


@asynccontextmanager
async def connected(server: Any, mode: str, era: str) -> AsyncIterator[Client]:
    with anyio.fail_after(TEST_TIMEOUT_S):
        async with Client(server, mode=mode, read_timeout_seconds=TEST_TIMEOUT_S) as client:
            assert client.protocol_version == era, f"mode={mode} negotiated {client.protocol_version}"
            yield client


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> tuple[str, str]:
    return request.param


@pytest.mark.parametrize("case", TOOLS, ids=_ids(TOOLS))
async def test_client_tools_call(host: Host, mode: tuple[str, str], case: ToolCase) -> None:
    async with connected(host.url, *mode) as client:
        result = await client.call_tool(case.tool, case.arguments)
    assert isinstance(result, types.CallToolResult), result
    case.check(_wire(result))


@pytest.mark.parametrize("case", RESOURCES, ids=_ids(RESOURCES))
async def test_client_resources_read(host: Host, mode: tuple[str, str], case: ResourceCase) -> None:
    async with connected(host.url, *mode) as client:
        result = await client.read_resource(case.uri, cache_mode="bypass")
    assert isinstance(result, types.ReadResourceResult), result
    case.check(_wire(result))


@pytest.mark.parametrize("case", PROMPTS, ids=_ids(PROMPTS))
async def test_client_prompts_get(host: Host, mode: tuple[str, str], case: PromptCase) -> None:
    async with connected(host.url, *mode) as client:
        result = await client.get_prompt(case.name, case.arguments)
    assert isinstance(result, types.GetPromptResult), result
    case.check(_wire(result))


async def test_client_over_stdio(artifacts: Any, host_config: Path, mode: tuple[str, str]) -> None:
    """The same calls over `switchboard serve --stdio` (one host per mode)."""
    params = StdioServerParameters(
        command=str(artifacts.bin),
        args=["serve", "--stdio", "-c", str(host_config)],
        env={**os.environ, "RUST_LOG": "warn"},
    )
    async with connected(params, *mode) as client:
        failures: list[str] = []
        for case in TOOLS:
            try:
                case.check(_wire(await client.call_tool(case.tool, case.arguments)))
            except Exception as error:  # collect all, report together
                failures.append(f"tools/call {case.tool}: {error!r}")
        for case in RESOURCES:
            try:
                case.check(_wire(await client.read_resource(case.uri, cache_mode="bypass")))
            except Exception as error:
                failures.append(f"resources/read {case.uri}: {error!r}")
        for case in PROMPTS:
            try:
                case.check(_wire(await client.get_prompt(case.name, case.arguments)))
            except Exception as error:
                failures.append(f"prompts/get {case.name}: {error!r}")
    assert not failures, "\n".join(failures)
