//! The `switchboard` binary as a process: one-shot CLI runs, and servers
//! (stdio or HTTP) whose stderr is captured and which are killed on drop.

use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::artifacts::host_binary;
use crate::config::ConfigFile;

/// How long to wait for anything the host should do "soon" (start, log a
/// line). Generous: the machine may be busy; nothing asserts speed.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// `switchboard <args> -c <config>` with the host's default log filter
/// (whatever RUST_LOG the test runner has is not passed on).
pub fn cli_command(config: &ConfigFile, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(host_binary());
    command
        .args(args)
        .arg("-c")
        .arg(config.path())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    command
}

/// What a one-shot CLI run printed.
#[derive(Debug)]
pub struct CliOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl CliOutput {
    pub fn assert_success(&self) -> &Self {
        assert!(
            self.status.success(),
            "expected success, got {}:\n{self}",
            self.status
        );
        self
    }

    /// Exit code 1 (the CLI's failure code).
    pub fn assert_failure(&self) -> &Self {
        assert_eq!(self.status.code(), Some(1), "expected exit code 1:\n{self}");
        self
    }
}

impl std::fmt::Display for CliOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout, self.stderr
        )
    }
}

/// Runs `switchboard <args> -c <config>` to completion (blocking).
pub fn run_cli(config: &ConfigFile, args: &[&str]) -> CliOutput {
    let output = cli_command(config, args).output().expect("run switchboard");
    CliOutput {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A running `switchboard serve`. Killed when dropped; if the test is
/// panicking, its stderr is printed to help the diagnosis.
pub struct Host {
    child: Child,
    stderr: Arc<Mutex<String>>,
    url: Option<String>,
}

impl Host {
    fn spawn(config: &ConfigFile, args: &[&str]) -> Self {
        Self::spawn_with_env(config, args, &[])
    }

    fn spawn_with_env(config: &ConfigFile, args: &[&str], env: &[(&str, &str)]) -> Self {
        crate::install_tls_provider();
        let mut command = Command::from(cli_command(config, args));
        command
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("spawn switchboard serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().expect("piped stderr");
        let sink = stderr.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(pipe).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut sink = sink.lock().unwrap_or_else(|e| e.into_inner());
                sink.push_str(&line);
                sink.push('\n');
            }
        });
        Self {
            child,
            stderr,
            url: None,
        }
    }

    /// `serve --stdio`; the caller speaks MCP over the returned pipes.
    pub fn stdio(config: &ConfigFile) -> (Self, ChildStdout, ChildStdin) {
        let mut host = Self::spawn(config, &["serve", "--stdio"]);
        let stdout = host.child.stdout.take().expect("piped stdout");
        let stdin = host.child.stdin.take().expect("piped stdin");
        (host, stdout, stdin)
    }

    /// `serve --http 127.0.0.1:0`, once it says where it listens.
    pub async fn http(config: &ConfigFile) -> Self {
        Self::http_with(config, &[]).await
    }

    /// As [`Host::http`], with more `serve` arguments (e.g. `--watch`).
    pub async fn http_with(config: &ConfigFile, args: &[&str]) -> Self {
        Self::http_with_env(config, args, &[]).await
    }

    /// As [`Host::http_with`], with environment variables set for the host.
    pub async fn http_with_env(config: &ConfigFile, args: &[&str], env: &[(&str, &str)]) -> Self {
        const READY: &str = "switchboard: listening on ";
        let mut argv = vec!["serve", "--http", "127.0.0.1:0"];
        argv.extend_from_slice(args);
        let mut host = Self::spawn_with_env(config, &argv, env);
        let stderr = host.wait_for_stderr(READY).await;
        let url = stderr
            .lines()
            .find_map(|line| line.strip_prefix(READY))
            .expect("the ready line")
            .trim()
            .to_owned();
        assert!(
            url.starts_with("http://127.0.0.1:") && url.ends_with("/mcp"),
            "odd URL {url:?}"
        );
        host.url = Some(url);
        host
    }

    /// The MCP endpoint (HTTP hosts only).
    pub fn url(&self) -> &str {
        self.url.as_deref().expect("an HTTP host")
    }

    /// Everything the host wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits until stderr contains `needle`; returns all of stderr. Panics
    /// (with stderr) if the host exits first or after [`PATIENCE`].
    pub async fn wait_for_stderr(&mut self, needle: &str) -> String {
        self.wait_for_stderr_line(|line| line.contains(needle), needle)
            .await
    }

    /// Waits until some stderr line satisfies `matches` (`what` describes it).
    pub async fn wait_for_stderr_line(
        &mut self,
        matches: impl Fn(&str) -> bool,
        what: &str,
    ) -> String {
        self.wait_for_stderr_lines(matches, 1, what).await
    }

    /// Waits until `count` stderr lines satisfy `matches`: the host writes
    /// its log from a background thread, so a line can trail the response
    /// that caused it.
    pub async fn wait_for_stderr_lines(
        &mut self,
        matches: impl Fn(&str) -> bool,
        count: usize,
        what: &str,
    ) -> String {
        let started = Instant::now();
        loop {
            let stderr = self.stderr();
            if stderr.lines().filter(|line| matches(line)).count() >= count {
                return stderr;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // Let the reader drain what the process wrote last.
                tokio::time::sleep(Duration::from_millis(100)).await;
                panic!(
                    "switchboard exited ({status}) before logging {what:?}; stderr:\n{}",
                    self.stderr()
                );
            }
            assert!(
                started.elapsed() < PATIENCE,
                "switchboard did not log {what:?} within {PATIENCE:?}; stderr:\n{stderr}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends the host a signal by name (`HUP`, `TERM`...).
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().expect("the host is running");
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(pid.to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} {pid}: {status}");
    }

    /// CPU time (user + system, all threads) the host has used so far.
    /// Linux only: reads `/proc/<pid>/stat` (clock ticks of USER_HZ = 100).
    pub fn cpu_time(&self) -> Duration {
        let pid = self.child.id().expect("the host is running");
        let stat =
            std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/<pid>/stat");
        // Fields after the parenthesised command name start at field 3.
        let fields: Vec<&str> = stat[stat.rfind(')').expect("comm") + 2..]
            .split(' ')
            .collect();
        let ticks = |field: usize| fields[field - 3].parse::<u64>().expect("a tick count");
        Duration::from_millis((ticks(14) + ticks(15)) * 10)
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- switchboard stderr ---\n{}", self.stderr());
        }
        let _ = self.child.start_kill();
    }
}
