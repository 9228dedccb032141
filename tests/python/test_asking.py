"""The Python `mcp` SDK (2.3) answering a plugin's and an upstream's questions
through the real `switchboard` binary: its sampling, elicitation and roots
callbacks, in both eras and over both transports.

In `legacy` mode (2025-11-25) the host sends the requests on the session and
the SDK calls the callbacks; in `auto` mode (2026-07-28) the host answers
`input_required` and the SDK's own driver calls the same callbacks and
retries. The host serves the conformance fixture as `fx_*` and
@modelcontextprotocol/server-everything (a 2025-11-25 server, which sends
its questions as requests) as `everything_*`, both granted all three kinds
of question.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import mcp.types as types
import pytest
from mcp import Client, StdioServerParameters

from conftest import EVERYTHING_JS, Artifacts, node_binary, require_installed, serve_http

pytestmark = pytest.mark.anyio

CONFORMANCE = "conformance_fixture.wasm"
TEST_TIMEOUT_S = 30.0
ROOT_URI = "file:///work/python-client"


@pytest.fixture(scope="module")
def asking_config(artifacts: Artifacts, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("asking")
    config = root / "switchboard.toml"
    config.write_text(
        "[server]\n"
        f'cache_dir = "{root / "cache"}"\n'
        "\n"
        "[plugins.fx]\n"
        f'component = "{artifacts.wasm_dir / CONFORMANCE}"\n'
        "grants.sampling = true\n"
        "grants.elicitation = true\n"
        "grants.roots = true\n"
        "\n"
        "[upstreams.everything]\n"
        f"command = {json.dumps([node_binary(), str(require_installed(EVERYTHING_JS)), 'stdio'])}\n"
        "grants = { sampling = true, elicitation = true, roots = true }\n"
    )
    return config


@pytest.fixture(scope="module")
def asking_http(artifacts: Artifacts, asking_config: Path) -> Iterator[str]:
    with serve_http(artifacts.bin, asking_config) as host:
        yield host.url


@pytest.fixture(
    params=[("http", "auto"), ("http", "legacy"), ("stdio", "auto"), ("stdio", "legacy")],
    ids=["http-auto", "http-legacy", "stdio-auto", "stdio-legacy"],
)
def server_and_mode(request: pytest.FixtureRequest, artifacts: Artifacts, asking_config: Path) -> tuple[Any, str]:
    transport, mode = request.param
    if transport == "http":
        return request.getfixturevalue("asking_http"), mode
    params = StdioServerParameters(
        command=str(artifacts.bin),
        args=["serve", "--stdio", "-c", str(asking_config)],
        env={**os.environ, "RUST_LOG": "warn"},
    )
    return params, mode


class Answers:
    """The callbacks, recording what they were asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def sampling(self, context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        self.asked.append("sampling")
        last = params.messages[-1].content
        prompt = last.text if isinstance(last, types.TextContent) else ""
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=f"python model: {prompt}"),
            model="python-test-model",
            stop_reason="endTurn",
        )

    async def elicitation(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.asked.append("elicitation")
        return types.ElicitResult(action="accept", content={"name": "Grace", "username": "grace", "email": "g@example.com"})

    def client(self, server: Any, mode: str) -> Client:
        """A client in `mode` whose callbacks are these."""
        return Client(
            server,
            mode=mode,
            read_timeout_seconds=TEST_TIMEOUT_S,
            sampling_callback=self.sampling,
            elicitation_callback=self.elicitation,
            list_roots_callback=self.roots,
        )

    async def roots(self, context: Any) -> types.ListRootsResult:
        self.asked.append("roots")
        return types.ListRootsResult(roots=[types.Root(uri=ROOT_URI, name="python client")])


def text_of(result: types.CallToolResult) -> str:
    assert not result.is_error, result
    return "\n".join(block.text for block in result.content if isinstance(block, types.TextContent))


async def test_the_sdk_callbacks_answer_a_plugins_questions(server_and_mode: tuple[Any, str]) -> None:
    server, mode = server_and_mode
    answers = Answers()
    with anyio.fail_after(TEST_TIMEOUT_S):
        async with answers.client(server, mode) as client:
            sampled = await client.call_tool("fx_test_sampling", {"prompt": "hi"})
            assert text_of(sampled) == "LLM response: python model: hi"
            greeted = await client.call_tool("fx_test_input_required_result_elicitation", {})
            assert text_of(greeted) == "Hello, Grace!"
            everything = await client.call_tool("fx_test_input_required_result_multiple_inputs", {})
            summary = text_of(everything)
            assert '"name":"Grace"' in summary and "python model: Generate a greeting" in summary, summary
            assert ROOT_URI in summary, summary
    assert answers.asked == ["sampling", "elicitation", "elicitation", "sampling", "roots"] or (
        # The SDK may fulfil one round's questions in any order.
        answers.asked[:2] == ["sampling", "elicitation"] and sorted(answers.asked[2:]) == ["elicitation", "roots", "sampling"]
    ), answers.asked


EVERYTHING_ASKS = ["everything_trigger-sampling-request", "everything_trigger-elicitation-request", "everything_get-roots-list"]


async def test_the_sdk_callbacks_answer_server_everythings_questions(server_and_mode: tuple[Any, str]) -> None:
    server, mode = server_and_mode
    answers = Answers()
    with anyio.fail_after(TEST_TIMEOUT_S * 2):
        async with answers.client(server, mode) as client:
            # server-everything registers these once it sees the host
            # declare the capabilities; the host lists them when told.
            while True:
                listed = await client.list_tools()
                names = {tool.name for tool in listed.tools}
                if all(name in names for name in EVERYTHING_ASKS):
                    break
                await anyio.sleep(0.1)
            sampled = text_of(await client.call_tool("everything_trigger-sampling-request", {"prompt": "hi there"}))
            assert "python model: " in sampled and "hi there" in sampled, sampled
            elicited = text_of(await client.call_tool("everything_trigger-elicitation-request", {}))
            assert "Grace" in elicited, elicited
            roots = text_of(await client.call_tool("everything_get-roots-list", {}))
            assert ROOT_URI in roots, roots
    # server-everything keeps the roots it got first for the whole session
    # (the host's one session with it), so only the first client is asked.
    for kind in ["sampling", "elicitation"]:
        assert kind in answers.asked, answers.asked
