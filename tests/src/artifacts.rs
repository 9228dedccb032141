//! The things under test, built once per test binary: the `switchboard`
//! binary and the `upstream-fixture` MCP server (same profile as the tests,
//! one `cargo build`) and the fixture plugins (release, `wasm32-wasip2`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The fixture plugins in `tests/fixtures/`, and the example plugins in
/// `plugins/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fixture {
    /// One tool per behaviour under test (echo, add, progress, log, spin, ...).
    Testkit,
    Conformance,
    /// Declares a tool whose input schema is invalid.
    BadSchema,
    /// Targets `switchboard:plugin@9.0.0`.
    FutureVersion,
    /// A component of another world altogether.
    OtherWorld,
    /// Tries to escape its sandbox (files, env, HTTP, calls, stack, output).
    Hostile,
    /// The example plugins in `plugins/` (the chaining demo).
    Pipeline,
    Text,
    Json,
    Codec,
    /// The notes plugin: resources, a prompt, an elicitation.
    Notes,
}

impl Fixture {
    pub const ALL: [Fixture; 11] = [
        Fixture::Testkit,
        Fixture::Conformance,
        Fixture::BadSchema,
        Fixture::FutureVersion,
        Fixture::OtherWorld,
        Fixture::Hostile,
        Fixture::Pipeline,
        Fixture::Text,
        Fixture::Json,
        Fixture::Codec,
        Fixture::Notes,
    ];

    pub fn package(self) -> &'static str {
        match self {
            Fixture::Testkit => "testkit-fixture",
            Fixture::Conformance => "conformance-fixture",
            Fixture::BadSchema => "bad-schema-fixture",
            Fixture::FutureVersion => "future-version-fixture",
            Fixture::OtherWorld => "other-world-fixture",
            Fixture::Hostile => "hostile-fixture",
            Fixture::Pipeline => "pipeline-tools",
            Fixture::Text => "text-tools",
            Fixture::Json => "json-tools",
            Fixture::Codec => "codec-tools",
            Fixture::Notes => "notes-tools",
        }
    }

    /// The built `.wasm` component.
    pub fn path(self) -> PathBuf {
        artifacts()
            .wasm_dir
            .join(format!("{}.wasm", self.package().replace('-', "_")))
    }
}

/// Set to a `switchboard` binary to test that one instead of building it.
pub const HOST_OVERRIDE: &str = "SWITCHBOARD_E2E_BIN";

struct Artifacts {
    host: PathBuf,
    upstream_fixture: PathBuf,
    wasm_dir: PathBuf,
}

/// The workspace root (where `cargo build` runs).
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits inside the workspace")
}

/// The `switchboard` binary under test.
pub fn host_binary() -> &'static Path {
    &artifacts().host
}

/// The `upstream-fixture` binary: a real rmcp MCP server (stdio, or
/// `--http ADDR`) that tests run as an upstream behind the host.
pub fn upstream_fixture_binary() -> &'static Path {
    &artifacts().upstream_fixture
}

fn artifacts() -> &'static Artifacts {
    static ARTIFACTS: OnceLock<Artifacts> = OnceLock::new();
    ARTIFACTS.get_or_init(|| {
        build().unwrap_or_else(|e| panic!("cannot build what the tests run: {e:#}"))
    })
}

/// `<target>/<profile>` of the running test executable, which is
/// `<target>/<profile>/deps/<name>` (so this honours CARGO_TARGET_DIR).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("unexpected test executable path {}", exe.display()))
        .to_owned()
}

/// Cargo's target folder.
pub fn target_dir() -> PathBuf {
    profile_dir()
        .parent()
        .expect("the profile dir sits in the target dir")
        .to_owned()
}

fn build() -> anyhow::Result<Artifacts> {
    let profile_dir = profile_dir();
    let target_dir = &target_dir();
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow::anyhow!("unexpected profile dir {}", profile_dir.display()))?;
    // One `cargo build` for the native binaries: the host (unless overridden)
    // and the upstream fixture.
    let host_override = std::env::var_os(HOST_OVERRIDE).map(PathBuf::from);
    let mut native_args = vec!["-p".to_string(), "upstream-fixture".to_string()];
    if host_override.is_none() {
        native_args.extend(["-p".to_string(), "switchboard".to_string()]);
    }
    match profile {
        "debug" => {}
        "release" => native_args.push("--release".into()),
        other => native_args.extend(["--profile".into(), other.into()]),
    }
    cargo_build(target_dir, &native_args)?;
    let exe = |name: &str| profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let host = host_override.unwrap_or_else(|| exe("switchboard"));
    let upstream_fixture = exe("upstream-fixture");
    anyhow::ensure!(
        host.is_file(),
        "the host binary {} is missing",
        host.display()
    );
    anyhow::ensure!(
        upstream_fixture.is_file(),
        "the upstream fixture binary {} is missing",
        upstream_fixture.display()
    );

    let mut fixture_args: Vec<String> = ["--target", "wasm32-wasip2", "--release"]
        .map(String::from)
        .to_vec();
    for fixture in Fixture::ALL {
        fixture_args.extend(["-p".to_string(), fixture.package().to_string()]);
    }
    cargo_build(target_dir, &fixture_args).map_err(|e| {
        if !wasm_target_installed() {
            anyhow::anyhow!(
                "the wasm32-wasip2 target is missing: run `rustup target add wasm32-wasip2` ({e:#})"
            )
        } else {
            e
        }
    })?;

    Ok(Artifacts {
        host,
        upstream_fixture,
        wasm_dir: target_dir.join("wasm32-wasip2").join("release"),
    })
}

fn cargo_build(target_dir: &Path, args: &[String]) -> anyhow::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(&cargo)
        .arg("build")
        .args(args)
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(workspace_root())
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "`cargo build {}` failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

fn wasm_target_installed() -> bool {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    Command::new(rustc)
        .args(["--print", "target-libdir", "--target", "wasm32-wasip2"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .is_some_and(|dir| dir.is_dir())
}
