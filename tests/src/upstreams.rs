//! Real third-party MCP servers the tests run as upstreams behind the host,
//! pinned in `tests/upstreams/` and installed by `tests/upstreams/install.sh`
//! (which `scripts/test` runs before `cargo test`).
//!
//! - `@modelcontextprotocol/server-everything` (npm, Node >= 20): speaks only
//!   the 2025-11-25 era (`server/discover` is "method not found"). Tools
//!   include `echo {message}` (answers `"Echo: MESSAGE"`), `get-sum {a, b}`,
//!   `get-structured-content {location}` and `trigger-long-running-operation
//!   {duration: seconds, steps}`, which sends `steps` progress notifications
//!   when the request carries a progress token. It announces
//!   `notifications/tools/list_changed` right after `initialize` (it adds
//!   tools according to the client's capabilities, and asks for `roots/list`
//!   if the client declares roots). Resources `demo://resource/static/document/*.md`,
//!   templates `demo://resource/dynamic/{text,blob}/{resourceId}`, prompts
//!   `simple-prompt`, `args-prompt {city, state?}`, `completable-prompt`,
//!   `resource-prompt`.
//! - `mcp-server-time` (PyPI, Python `mcp` 2.3): tools `get_current_time
//!   {timezone}` and `convert_time {source_timezone, time, target_timezone}`;
//!   no resources or prompts. A connection serves whichever era the client
//!   opens with (`server/discover` advertises only 2026-07-28, but a first
//!   `initialize` 2025-11-25 is accepted too).
//!
//! Commands use absolute paths, so they do not depend on the `PATH` of
//! whoever spawns them.

use std::fs::File;
use std::io::{BufRead as _, BufReader, Read as _, Seek as _};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::artifacts::{upstream_fixture_binary, workspace_root};

/// Set to a `node` binary (Node >= 20) to run server-everything with it
/// instead of the first `node` on `PATH`.
pub const NODE_OVERRIDE: &str = "SWITCHBOARD_E2E_NODE";

const NOT_INSTALLED: &str = "run tests/upstreams/install.sh (scripts/test does)";

/// `tests/upstreams/`.
pub fn upstreams_dir() -> PathBuf {
    workspace_root().join("tests").join("upstreams")
}

fn installed(path: PathBuf) -> PathBuf {
    assert!(
        path.is_file(),
        "{} is missing: {NOT_INSTALLED}",
        path.display()
    );
    path
}

fn arg(path: &Path) -> String {
    path.to_str()
        .unwrap_or_else(|| panic!("non-UTF-8 path {}", path.display()))
        .to_owned()
}

/// The absolute path of the `node` that runs server-everything.
pub fn node_binary() -> PathBuf {
    if let Some(node) = std::env::var_os(NODE_OVERRIDE) {
        return PathBuf::from(node);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(format!("node{}", std::env::consts::EXE_SUFFIX)))
        .find(|node| node.is_file())
        .map(|node| std::path::absolute(&node).unwrap_or(node))
        .unwrap_or_else(|| panic!("no `node` on PATH (set {NODE_OVERRIDE}); {NOT_INSTALLED}"))
}

fn everything_entry() -> PathBuf {
    installed(
        upstreams_dir().join("node_modules/@modelcontextprotocol/server-everything/dist/index.js"),
    )
}

/// argv running server-everything over stdio.
pub fn everything_stdio_command() -> Vec<String> {
    vec![
        arg(&node_binary()),
        arg(&everything_entry()),
        "stdio".into(),
    ]
}

/// argv and environment running server-everything over Streamable HTTP on
/// `port`; it serves `http://127.0.0.1:PORT/mcp` (and logs to stdout).
pub fn everything_http_command(port: u16) -> (Vec<String>, Vec<(String, String)>) {
    (
        vec![
            arg(&node_binary()),
            arg(&everything_entry()),
            "streamableHttp".into(),
        ],
        vec![("PORT".into(), port.to_string())],
    )
}

/// argv running `mcp-server-time` over stdio, in UTC.
pub fn time_stdio_command() -> Vec<String> {
    vec![
        arg(&installed(
            upstreams_dir().join(".venv/bin/mcp-server-time"),
        )),
        "--local-timezone".into(),
        "UTC".into(),
    ]
}

/// argv running the `upstream-fixture` over stdio as `name` (what its
/// `whoami` tool and greeting say).
pub fn fixture_stdio_command(name: &str) -> Vec<String> {
    vec![arg(upstream_fixture_binary()), "--name".into(), name.into()]
}

/// The `upstream-fixture` serving Streamable HTTP on a port of its own
/// choosing; killed on drop.
pub struct FixtureHttp {
    child: Child,
    url: String,
}

impl FixtureHttp {
    /// Starts it as `name` and waits (blocking) for the line saying where it
    /// listens.
    pub fn start(name: &str) -> Self {
        const READY: &str = "listening on ";
        let mut child = Command::new(upstream_fixture_binary())
            .args(["--name", name, "--http", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the upstream fixture over HTTP");
        let mut line = String::new();
        let read = BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut line);
        let Some(url) = line.trim().strip_prefix(READY).map(str::to_owned) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the upstream fixture did not say where it listens ({read:?}): {line:?}");
        };
        FixtureHttp { child, url }
    }

    /// `http://127.0.0.1:PORT/mcp`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for FixtureHttp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free TCP port on 127.0.0.1 (free when this returns; racy, as usual).
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free local port")
        .port()
}

/// server-everything serving Streamable HTTP; killed on drop.
pub struct EverythingHttp {
    child: Child,
    port: u16,
}

impl EverythingHttp {
    /// Starts it on a free port and waits (blocking, up to 30 s) until it
    /// accepts connections.
    pub fn start() -> Self {
        let port = free_port();
        let (argv, env) = everything_http_command(port);
        let mut stderr = tempfile_for_stderr();
        let mut child = Command::new(&argv[0])
            .args(&argv[1..])
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr.try_clone().expect("clone a file handle"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {argv:?}: {e}"));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                return EverythingHttp { child, port };
            }
            let exited = child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                let mut log = String::new();
                let _ = stderr.rewind();
                let _ = stderr.read_to_string(&mut log);
                panic!(
                    "server-everything did not start on port {port} ({}):\n{log}",
                    exited.map_or("timed out".to_string(), |s| s.to_string())
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT/mcp`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for EverythingHttp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tempfile_for_stderr() -> File {
    tempfile::tempfile().expect("a temporary file for stderr")
}
