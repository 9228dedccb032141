"""Runs one desktop client's MCP config from the README the way that client
does: the `command` and `args` of its one server, started over stdio from a
folder unrelated to the config (`/`), with the Python `mcp` SDK as the
client, in both protocol eras. Checks the walkthrough's tools are there and
that `mine_shout` answers.

Usage: desktop_client.py CONFIG.json HOME
(`/home/you` in the config stands for HOME, as the README says.)
"""

from __future__ import annotations

import json
import sys

import anyio
import mcp.types as types
from mcp import Client, StdioServerParameters

TIMEOUT_S = 60.0


def server_of(config: dict, name: str) -> dict:
    # Claude Desktop and Cursor: "mcpServers"; VS Code: "servers" with a "type".
    servers = config.get("mcpServers") or config.get("servers")
    if not isinstance(servers, dict) or len(servers) != 1:
        sys.exit(f"{name}: expected exactly one server under mcpServers/servers")
    (server,) = servers.values()
    if "servers" in config and server.get("type") != "stdio":
        sys.exit(f"{name}: a VS Code server entry needs \"type\": \"stdio\"")
    return server


async def check(params: StdioServerParameters, mode: str) -> str:
    with anyio.fail_after(TIMEOUT_S):
        async with Client(params, mode=mode, read_timeout_seconds=TIMEOUT_S) as client:
            names = sorted(tool.name for tool in (await client.list_tools()).tools)
            if names != ["mine_length", "mine_shout"]:
                raise AssertionError(f"tools: {names}")
            result = await client.call_tool("mine_shout", {"text": "hi"})
            text = [b.text for b in result.content if isinstance(b, types.TextContent)]
            if result.is_error or text != ["HI"]:
                raise AssertionError(f"mine_shout answered {result}")
            return client.protocol_version


def main() -> None:
    path, home = sys.argv[1], sys.argv[2]
    text = open(path, encoding="utf-8").read().replace("/home/you", home)
    server = server_of(json.loads(text), path)
    params = StdioServerParameters(
        command=server["command"], args=server.get("args", []), cwd="/"
    )
    for mode in ("legacy", "auto"):
        era = anyio.run(check, params, mode)
        print(f"{path}: {mode} ({era}): tools mine_length, mine_shout; mine_shout -> HI")


if __name__ == "__main__":
    main()
