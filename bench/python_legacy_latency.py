#!/usr/bin/env python3
"""Sequential tool-call latency over Streamable HTTP, seen by the Python `mcp` client.

A second-client check for issue 15 (legacy-era calls taking ~44 ms each:
Nagle + delayed ACK, fixed by TCP_NODELAY on accepted sockets). The Python
`mcp` 2.3 SDK client calls one echo tool, one call at a time, in each era:

    legacy   Client(mode="legacy"): the 2025-11-25 initialize handshake and a session
    modern   Client(mode="auto"):   must settle on 2026-07-28 (server/discover)

against two servers:

    host     `switchboard serve --http 127.0.0.1:0` serving the testkit
             fixture as `kit_*` (tool `kit_echo`)
    native   `switchboard-bench native-echo --http 127.0.0.1:0`, a plain rmcp
             server (tool `echo`)

Each session's negotiated protocol version is asserted, so a figure cannot
come from the wrong era. The four sessions stay open side by side and are
measured in interleaved rounds, so background load hits them alike.

Nothing is built: the binaries must exist (cargo build --release -p
switchboard -p switchboard-bench; cargo build --release --target
wasm32-wasip2 for the fixture). Run with a Python that has `mcp` 2.3, e.g.
the venv `tests/python/run.sh` makes:

    tests/python/.venv/bin/python bench/python_legacy_latency.py [--calls 300] [--warmup 30]

Paths default to ./target (relative to the workspace root); override with
SWITCHBOARD_BIN, SWITCHBOARD_BENCH_BIN, SWITCHBOARD_WASM_DIR.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import mcp.types as types
from mcp import Client

LEGACY = "2025-11-25"
MODERN = "2026-07-28"
ERAS = (("legacy", "legacy", LEGACY), ("modern", "auto", MODERN))  # (label, Client mode, expected version)
ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "target"
LISTENING = re.compile(r"listening on (http://\S+/mcp)\s*$")
STARTUP_TIMEOUT_S = 60.0
STALL_MS = 30.0  # a call this slow looks like a Nagle/delayed-ACK stall (~40 ms)


def path_from(env: str, default: Path) -> Path:
    return Path(os.environ.get(env) or default)


@contextlib.contextmanager
def server(argv: list[str]) -> Iterator[str]:
    """Runs `argv` until the block ends; yields the URL from its `listening on` stderr line."""
    process = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # The host's per-call audit lines at INFO would only cost time here.
        env={**os.environ, "RUST_LOG": "warn"},
    )
    lines: list[str] = []
    url: list[str] = []
    found = threading.Event()

    def drain() -> None:  # keep reading so the server never blocks on a full pipe
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line.rstrip("\n"))
            if not found.is_set() and (m := LISTENING.search(line)):
                url.append(m.group(1))
                found.set()
        found.set()

    threading.Thread(target=drain, daemon=True).start()
    found.wait(STARTUP_TIMEOUT_S)
    try:
        if not url:
            tail = "\n".join(lines[-30:])
            sys.exit(f"{argv[0]} never reported its address (exit {process.poll()}); stderr:\n{tail}")
        yield url[0]
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Series:
    target: str
    era: str
    client: Client
    tool: str
    version: str
    samples_us: list[float] = field(default_factory=list)

    async def calls(self, n: int, record: bool) -> None:
        for _ in range(n):
            started = time.perf_counter()
            result = await self.client.call_tool(self.tool, {"text": "hello"})
            elapsed = (time.perf_counter() - started) * 1e6
            if result.is_error or [c.text for c in result.content if isinstance(c, types.TextContent)] != ["hello"]:
                raise AssertionError(f"{self.target}/{self.era}: unexpected result {result!r}")
            if record:
                self.samples_us.append(elapsed)


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


async def measure(urls: dict[str, tuple[str, str]], calls: int, warmup: int, rounds: int) -> list[Series]:
    async with AsyncExitStack() as stack:
        series: list[Series] = []
        for target, (url, tool) in urls.items():
            for label, mode, expected in ERAS:
                client = await stack.enter_async_context(Client(url, mode=mode, read_timeout_seconds=30.0))
                if client.protocol_version != expected:
                    raise AssertionError(
                        f"{target}/{label}: asked for {expected} (mode={mode!r}), "
                        f"negotiated {client.protocol_version}"
                    )
                names = {t.name for t in (await client.list_tools()).tools}
                assert tool in names, f"{target}/{label}: no tool {tool!r} in {sorted(names)}"
                series.append(Series(target, label, client, tool, client.protocol_version))
        for s in series:
            await s.calls(warmup, record=False)
        per_round = [calls // rounds + (1 if i < calls % rounds else 0) for i in range(rounds)]
        for n in per_round:  # interleaved, so load changes hit every series alike
            for s in series:
                await s.calls(n, record=True)
        return series


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300, help="measured calls per series (default 300)")
    parser.add_argument("--warmup", type=int, default=30, help="unmeasured calls per series first (default 30)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds the calls are split into")
    args = parser.parse_args()

    host_bin = path_from("SWITCHBOARD_BIN", TARGET / "release/switchboard")
    bench_bin = path_from("SWITCHBOARD_BENCH_BIN", TARGET / "release/switchboard-bench")
    testkit = path_from("SWITCHBOARD_WASM_DIR", TARGET / "wasm32-wasip2/release") / "testkit_fixture.wasm"
    missing = [str(p) for p in (host_bin, bench_bin, testkit) if not p.is_file()]
    if missing:
        sys.exit("missing (build them first; this script builds nothing):\n  " + "\n  ".join(missing))

    with tempfile.TemporaryDirectory(prefix="switchboard-pybench-") as tmp:
        config = Path(tmp) / "switchboard.toml"
        config.write_text(
            "[server]\n"
            f"cache_dir = {str(Path(tmp) / 'cache')!r}\n"
            "\n"
            "[plugins.kit]\n"
            f"component = {str(testkit)!r}\n"
        )
        with (
            server([str(host_bin), "serve", "-c", str(config), "--http", "127.0.0.1:0"]) as host_url,
            server([str(bench_bin), "native-echo", "--http", "127.0.0.1:0"]) as native_url,
        ):
            urls = {"host": (host_url, "kit_echo"), "native": (native_url, "echo")}
            series = anyio.run(measure, urls, args.calls, args.warmup, args.rounds)

    import importlib.metadata

    print(
        f"Python mcp {importlib.metadata.version('mcp')} client, Streamable HTTP, "
        f"{args.calls} sequential calls per series after {args.warmup} warm-up calls"
    )
    print(f"{'target':<8} {'era':<7} {'version':<11} {'median µs':>10} {'p99 µs':>10} {'max µs':>10} {f'>={STALL_MS:.0f}ms':>7}")
    medians: dict[tuple[str, str], float] = {}
    for s in series:
        median = statistics.median(s.samples_us)
        medians[(s.target, s.era)] = median
        stalls = sum(1 for x in s.samples_us if x >= STALL_MS * 1000)
        print(
            f"{s.target:<8} {s.era:<7} {s.version:<11} {median:>10.0f} {p99(s.samples_us):>10.0f} "
            f"{max(s.samples_us):>10.0f} {stalls:>7}"
        )
    print()
    for label, _, _ in ERAS:
        print(f"host/native median ratio, {label}: {medians[('host', label)] / medians[('native', label)]:.2f}")


if __name__ == "__main__":
    main()
