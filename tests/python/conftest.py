"""Fixtures for driving the real `switchboard` binary with the Python `mcp` SDK.

Nothing is built here: `run.sh` builds the host and the fixture plugins and
exports

    SWITCHBOARD_BIN        path to the `switchboard` binary
    SWITCHBOARD_WASM_DIR   folder holding testkit_fixture.wasm

Without them every test run stops at once with a message saying so; nothing
is skipped.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mcp import StdioServerParameters

ROOT = Path(__file__).resolve().parents[2]
EVERYTHING_JS = ROOT / "tests/upstreams/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
NODE_OVERRIDE = "SWITCHBOARD_E2E_NODE"
ENV_BIN = "SWITCHBOARD_BIN"
ENV_WASM_DIR = "SWITCHBOARD_WASM_DIR"
TESTKIT = "testkit_fixture.wasm"
LISTENING = re.compile(r"^switchboard: listening on (http://\S+/mcp)\s*$")
STARTUP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Artifacts:
    bin: Path
    wasm_dir: Path


def _artifacts() -> Artifacts:
    problems = []
    bin_path = os.environ.get(ENV_BIN)
    wasm_dir = os.environ.get(ENV_WASM_DIR)
    if not bin_path:
        problems.append(f"{ENV_BIN} is not set (path to the switchboard binary)")
    elif not os.access(bin_path, os.X_OK):
        problems.append(f"{ENV_BIN}={bin_path} is not an executable file")
    if not wasm_dir:
        problems.append(f"{ENV_WASM_DIR} is not set (folder holding {TESTKIT})")
    elif not (Path(wasm_dir) / TESTKIT).is_file():
        problems.append(f"{ENV_WASM_DIR}={wasm_dir} holds no {TESTKIT}")
    if problems:
        raise pytest.UsageError(
            "switchboard Python tests need a built host and fixtures:\n  - "
            + "\n  - ".join(problems)
            + "\nRun tests/python/run.sh, which builds them and sets both variables."
        )
    return Artifacts(Path(bin_path).resolve(), Path(wasm_dir).resolve())


_ARTIFACTS = pytest.StashKey[Artifacts]()


def require_installed(path: Path) -> Path:
    """`path`, which tests/upstreams/install.sh installs."""
    if not path.is_file():
        pytest.fail(f"{path} is missing: run tests/upstreams/install.sh", pytrace=False)
    return path


def node_binary() -> str:
    """The `node` that runs server-everything."""
    if override := os.environ.get(NODE_OVERRIDE):
        return override
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"no `node` on PATH (set {NODE_OVERRIDE}); server-everything needs Node >= 20", pytrace=False)
    return str(Path(node).resolve())


def pytest_configure(config: pytest.Config) -> None:
    # Fail the whole run up front (exit status 4) rather than once per test.
    config.stash[_ARTIFACTS] = _artifacts()


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def artifacts(pytestconfig: pytest.Config) -> Artifacts:
    return pytestconfig.stash[_ARTIFACTS]


def kit_config_text(artifacts: Artifacts, root: Path) -> str:
    """Config text serving the testkit fixture as `kit_*`, caching in `root`."""
    return (
        "[server]\n"
        f'cache_dir = "{root / "cache"}"\n'
        "\n"
        "[plugins.kit]\n"
        f'component = "{artifacts.wasm_dir / TESTKIT}"\n'
        "limits = { timeout_ms = 2000 }\n"
    )


@pytest.fixture(scope="session")
def config_file(artifacts: Artifacts, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An admin config serving the testkit fixture as `kit_*`."""
    root = tmp_path_factory.mktemp("switchboard")
    config = root / "switchboard.toml"
    config.write_text(kit_config_text(artifacts, root))
    return config


@dataclass
class HttpHost:
    url: str
    process: subprocess.Popen[str]
    stderr_lines: list[str]

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.stderr_lines[-n:])


@contextlib.contextmanager
def serve_http(
    bin_path: Path,
    config: Path,
    env: dict[str, str] | None = None,
    startup_timeout_s: float = STARTUP_TIMEOUT_S,
    listen: str = "127.0.0.1:0",
) -> Iterator[HttpHost]:
    """Runs `switchboard serve --http 127.0.0.1:0` (or `--http LISTEN`, for a
    config that must name the host's own URL) until the block ends; fails the
    test (with the host's stderr) if it never reports its address."""
    process = subprocess.Popen(
        [str(bin_path), "serve", "-c", str(config), "--http", listen],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: list[str] = []
    found = threading.Event()
    url: list[str] = []

    def drain() -> None:
        # Keep reading so the host never blocks on a full stderr pipe.
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line.rstrip("\n"))
            if not found.is_set() and (m := LISTENING.match(line)):
                url.append(m.group(1))
                found.set()
        found.set()  # EOF: the host exited

    threading.Thread(target=drain, name="switchboard-stderr", daemon=True).start()
    found.wait(startup_timeout_s)
    host = HttpHost(url[0] if url else "", process, lines)
    try:
        if not url:
            state = f"exited with {process.poll()}" if process.poll() is not None else "still running"
            pytest.fail(f"switchboard did not report its HTTP address ({state}); stderr:\n{host.log_tail()}", pytrace=False)
        yield host
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def http_host(artifacts: Artifacts, config_file: Path) -> Iterator[HttpHost]:
    """`switchboard serve --http 127.0.0.1:0`, shared by the session's HTTP tests."""
    with serve_http(artifacts.bin, config_file) as host:
        yield host
    # A host that crashed mid-session shows up here, not as a hang.
    assert host.process.returncode in (0, -15), f"switchboard exited with {host.process.returncode}:\n" + host.log_tail()


@pytest.fixture(scope="session")
def stdio_params(artifacts: Artifacts, config_file: Path) -> StdioServerParameters:
    """Launches `switchboard serve --stdio` per client (the SDK owns the child process)."""
    return StdioServerParameters(
        command=str(artifacts.bin),
        args=["serve", "--stdio", "-c", str(config_file)],
        # Audit lines at INFO would flood the captured stderr; warnings still show.
        env={**os.environ, "RUST_LOG": "warn"},
    )
