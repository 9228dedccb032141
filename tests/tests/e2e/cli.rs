//! The command line: `check` (bad plugins, bad config, the compile cache),
//! `call` and `tools --json`.

use serde_json::{Value, json};
use switchboard_e2e::{
    CliOutput, ConfigBuilder, ConfigFile, Era, Fixture, Link, cli_command, connect, host_binary,
    run_cli,
};

/// Asserts some line of `text` contains every one of `needles`.
fn assert_line(text: &str, needles: &[&str]) {
    assert!(
        text.lines()
            .any(|line| needles.iter().all(|n| line.contains(n))),
        "no line contains all of {needles:?} in:\n{text}"
    );
}

/// A config whose plugins are all broken, each in its own way.
fn broken_plugins_config() -> ConfigFile {
    let config = ConfigBuilder::new()
        .plugin("junk", "junk.wasm", "")
        .plugin("core", "core.wasm", "")
        .plugin("missing", "missing.wasm", "")
        .plugin("other", Fixture::OtherWorld.path(), "")
        .plugin("future", Fixture::FutureVersion.path(), "")
        .plugin("schema", Fixture::BadSchema.path(), "")
        .plugin("kit1", Fixture::Testkit.path(), r#"prefix = "kit""#)
        .plugin("kit2", Fixture::Testkit.path(), r#"prefix = "kit""#)
        .write();
    std::fs::write(config.dir().join("junk.wasm"), "this is not wasm").expect("write junk");
    // The header of an empty core module: wasm, but not a component.
    std::fs::write(config.dir().join("core.wasm"), b"\0asm\x01\0\0\0").expect("write core module");
    config
}

/// Started without `--config` in a folder with no `switchboard.toml` (as a
/// desktop client does), every command says which file it looked for, in
/// which folder, and how to pass one; the OS error is not printed twice.
#[test]
fn a_missing_config_names_the_folder_and_the_fix() {
    let folder = tempfile::tempdir().expect("tempdir");
    for args in [&["check"][..], &["serve", "--stdio"], &["tools"]] {
        let output = std::process::Command::new(host_binary())
            .args(args)
            .current_dir(folder.path())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run switchboard");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}: stdout must stay clean");
        let expected = format!(
            "error: config file {} not found (`switchboard.toml` is relative to the working directory, {}); pass the config with `--config FILE`",
            folder.path().join("switchboard.toml").display(),
            folder.path().display()
        );
        assert!(stderr.contains(&expected), "{args:?}: {stderr}");
        assert_eq!(stderr.matches("os error").count(), 0, "{args:?}: {stderr}");
    }
}

/// A component path into a crate's `target/` that cargo never wrote,
/// because the crate builds no `cdylib`: `check` says so.
#[test]
fn check_explains_a_crate_that_builds_no_component() {
    let config = ConfigBuilder::new()
        .plugin(
            "mine",
            "my-tools/target/wasm32-wasip2/release/my_tools.wasm",
            "",
        )
        .write();
    let crate_dir = config.dir().join("my-tools");
    std::fs::create_dir_all(crate_dir.join("src")).expect("crate folder");
    std::fs::write(
        crate_dir.join("Cargo.toml"),
        "[package]\nname = \"my-tools\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
    )
    .expect("manifest");
    let check = run_cli(&config, &["check"]);
    check.assert_failure();
    assert_line(
        &check.stderr,
        &[
            "plugin `mine`",
            "the crate `my-tools`",
            "has no `crate-type = [\"cdylib\"]` under `[lib]`",
        ],
    );
}

/// `check` reports every broken plugin at once, each error naming the
/// plugin, its file and what is wrong; `serve` refuses the same config.
#[test]
fn check_reports_every_bad_plugin() {
    let config = broken_plugins_config();
    let check = run_cli(&config, &["check"]);
    check.assert_failure();
    let stderr = &check.stderr;
    let other = Fixture::OtherWorld.path();
    let future = Fixture::FutureVersion.path();
    assert_line(stderr, &["problem"]);
    assert_line(
        stderr,
        &["plugin `junk`", "junk.wasm", "not a WebAssembly file"],
    );
    assert_line(
        stderr,
        &[
            "plugin `core`",
            "core.wasm",
            "core WebAssembly module, not a component",
        ],
    );
    let missing = config.dir().join("missing.wasm");
    assert_line(
        stderr,
        &[
            "plugin `missing`",
            &format!("no component file at {}", missing.display()),
        ],
    );
    assert_line(
        stderr,
        &[
            "plugin `other`",
            &other.to_string_lossy(),
            "does not implement",
            "tool-provider",
        ],
    );
    assert_line(
        stderr,
        &[
            "plugin `future`",
            &future.to_string_lossy(),
            "switchboard:plugin@9.0.0",
            "accepts",
        ],
    );
    assert_line(stderr, &["plugin `schema`", "broken", "input schema"]);
    assert_line(stderr, &["kit_echo", "kit1", "kit2", "prefix"]);
    assert!(
        check.stdout.is_empty(),
        "a failed check printed a table:\n{check}"
    );

    let serve = run_cli(&config, &["serve", "--stdio"]);
    serve.assert_failure();
    assert_line(&serve.stderr, &["plugin `junk`", "not a WebAssembly file"]);
    assert!(serve.stdout.is_empty(), "serve wrote to stdout:\n{serve}");
}

/// A plugin whose tool has an invalid input schema is refused with an error
/// that, like every other component error, names the plugin's file.
#[test]
fn check_names_the_file_of_a_plugin_with_a_bad_schema() {
    let schema = Fixture::BadSchema.path();
    let config = ConfigBuilder::new().plugin("schema", &schema, "").write();
    let check = run_cli(&config, &["check"]);
    check.assert_failure();
    assert_line(
        &check.stderr,
        &["plugin `schema`", "broken", "input schema"],
    );
    assert_line(
        &check.stderr,
        &["plugin `schema`", &schema.to_string_lossy()],
    );
}

/// Unknown keys anywhere in the file are errors naming the key and its line.
#[test]
fn check_names_unknown_keys_and_their_lines() {
    let valid = ConfigBuilder::testkit(1_000).render();
    let cases = [
        (
            "server",
            valid.replacen("[server]\n", "[server]\ncolour = \"blue\"\n", 1),
        ),
        ("plugin", format!("{valid}colour = \"blue\"\n")),
        ("top level", format!("colour = \"blue\"\n{valid}")),
    ];
    for (place, text) in cases {
        let config = ConfigFile::from_text(&text);
        let line = text
            .lines()
            .position(|l| l.starts_with("colour"))
            .expect("the bad key")
            + 1;
        let check = run_cli(&config, &["check"]);
        check.assert_failure();
        assert!(
            check.stderr.contains("colour"),
            "{place}: key not named:\n{check}"
        );
        assert!(
            check.stderr.contains(&format!("line {line}")),
            "{place}: line {line} not named:\n{check}"
        );
    }
}

/// The CACHE column of the plugin table for `plugin`.
fn cache_column(check: &CliOutput, plugin: &str) -> String {
    check.assert_success();
    let header = check
        .stdout
        .lines()
        .find(|l| l.starts_with("PLUGIN"))
        .expect("the plugin table");
    let column = header
        .split_whitespace()
        .position(|c| c == "CACHE")
        .expect("a CACHE column");
    let row = check
        .stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(plugin))
        .unwrap_or_else(|| panic!("no row for {plugin}:\n{check}"));
    row.split_whitespace()
        .nth(column)
        .expect("a CACHE cell")
        .to_owned()
}

/// The first start compiles into the cache (`miss`), the next loads (`hit`).
#[test]
fn compile_cache_miss_then_hit() {
    let cache = tempfile::tempdir().expect("a cache dir");
    let config = ConfigBuilder::testkit(1_000)
        .cache_dir(cache.path())
        .write();
    let first = run_cli(&config, &["check"]);
    assert_eq!(cache_column(&first, "kit"), "miss", "{first}");
    assert_line(&first.stdout, &["kit_echo", "kit"]);
    let entries = std::fs::read_dir(cache.path())
        .expect("the cache dir exists")
        .count();
    assert!(entries > 0, "nothing was written to the cache");
    let second = run_cli(&config, &["check"]);
    assert_eq!(cache_column(&second, "kit"), "hit", "{second}");
}

/// The compile cache holds native code the host runs: an entry altered on
/// disk is recompiled (with a warning naming it), never loaded, and a folder
/// others may write to is refused at start with the fix.
#[cfg(unix)]
#[test]
fn a_tampered_cache_entry_is_recompiled_and_an_open_cache_folder_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let cache = tempfile::tempdir().expect("a cache dir");
    let config = ConfigBuilder::testkit(1_000)
        .cache_dir(cache.path())
        .write();
    let first = run_cli(&config, &["check"]);
    assert_eq!(cache_column(&first, "kit"), "miss", "{first}");

    let mut tampered = 0;
    for entry in std::fs::read_dir(cache.path()).expect("the cache dir exists") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|ext| ext == "cwasm") {
            let mut bytes = std::fs::read(&path).expect("read the entry");
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0xff;
            std::fs::write(&path, bytes).expect("write the entry");
            tampered += 1;
        }
    }
    assert_eq!(tampered, 1, "expected one entry for the one component");
    let second = run_cli(&config, &["check"]);
    second.assert_success();
    assert_eq!(cache_column(&second, "kit"), "miss", "{second}");
    assert_line(
        &second.stderr,
        &["WARN", "ignoring compile cache entry", ".cwasm"],
    );
    let third = run_cli(&config, &["check"]);
    assert_eq!(cache_column(&third, "kit"), "hit", "{third}");

    std::fs::set_permissions(cache.path(), std::fs::Permissions::from_mode(0o777))
        .expect("chmod the cache dir");
    let refused = run_cli(&config, &["check"]);
    refused.assert_failure();
    assert_line(
        &refused.stderr,
        &[
            &format!(
                "compile cache folder {} is not safe",
                cache.path().display()
            ),
            "writable by group or others",
            "chmod 700",
        ],
    );
}

/// `--log-format json`: every log line on stderr is one JSON object with
/// the event's level, target and fields (the audit line's included), for log
/// shippers; stdout is unchanged.
#[test]
fn json_logs_are_one_object_per_line() {
    let config = ConfigBuilder::testkit(10_000).write();
    let output = cli_command(
        &config,
        &[
            "--log-format",
            "json",
            "call",
            "kit_echo",
            r#"{"text": "hi"}"#,
        ],
    )
    .env("RUST_LOG", "info")
    .output()
    .expect("run switchboard");
    assert!(output.status.success(), "{output:?}");
    let stdout: Value = serde_json::from_slice(&output.stdout).expect("the result is JSON");
    assert_eq!(stdout["content"][0]["text"], "hi", "{stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let audit = lines
        .iter()
        .find(|line| line["target"] == "switchboard::audit")
        .unwrap_or_else(|| panic!("no audit line in:\n{stderr}"));
    assert_eq!(audit["level"], "INFO", "{audit}");
    assert_eq!(audit["name"], "kit_echo", "{audit}");
    assert_eq!(audit["outcome"], "ok", "{audit}");
}

/// `switchboard call`: the result as JSON on stdout, progress on stderr,
/// exit 1 with `error (kind): message` for failures, 1 for `isError`.
#[test]
fn call_prints_results_and_fails_on_errors() {
    let config = ConfigBuilder::testkit(10_000).write();
    let call = |tool: &str, arguments: &str| run_cli(&config, &["call", tool, arguments]);
    let result = |output: &CliOutput| -> Value {
        serde_json::from_str(&output.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{output}"))
    };

    let echo = call("kit_echo", r#"{"text":"hi there"}"#);
    echo.assert_success();
    assert_eq!(
        result(&echo)["content"],
        json!([{"type": "text", "text": "hi there"}])
    );

    let add = call("kit_add", r#"{"a":2,"b":40}"#);
    add.assert_success();
    assert_eq!(result(&add)["structuredContent"], json!({"sum": 42}));

    let progress = call("kit_progress", r#"{"steps":2}"#);
    progress.assert_success();
    let first = progress
        .stderr
        .find("1/2 step 1")
        .unwrap_or_else(|| panic!("no progress:\n{progress}"));
    let second = progress
        .stderr
        .find("2/2 step 2")
        .unwrap_or_else(|| panic!("no progress:\n{progress}"));
    assert!(first < second, "progress out of order:\n{progress}");

    let trap = call("kit_trap", "{}");
    trap.assert_failure();
    assert_line(
        &trap.stderr,
        &["error (failed)", "plugin `kit`", "fixture panic"],
    );

    let unknown = call("kit_nope", "{}");
    unknown.assert_failure();
    assert_line(&unknown.stderr, &["error (not-found)", "kit_nope"]);

    let invalid = call("kit_strict", r#"{"count":0,"mode":"a"}"#);
    invalid.assert_failure();
    assert_line(
        &invalid.stderr,
        &["error (invalid-arguments)", "kit_strict", "minimum"],
    );

    let not_json = call("kit_echo", "{text: hi}");
    not_json.assert_failure();
    assert_line(&not_json.stderr, &["not valid JSON"]);

    let denied = call("kit_call", r#"{"name":"kit_echo"}"#);
    denied.assert_failure();
    assert_eq!(result(&denied)["isError"], true, "{denied}");
    assert!(denied.stdout.contains("no tools are granted"), "{denied}");
}

/// `tools --json` prints exactly what `tools/list` serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_json_matches_tools_list() {
    let config = ConfigBuilder::testkit(10_000)
        .plugin("bare", Fixture::Testkit.path(), r#"prefix = """#)
        .write();
    let printed = tokio::task::block_in_place(|| run_cli(&config, &["tools", "--json"]));
    printed.assert_success();
    let printed: Value = serde_json::from_str(&printed.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{printed}"));
    let printed = printed.as_array().expect("a JSON array").clone();

    let session = connect(&config, Link::Stdio, Era::Legacy).await;
    let listed = session
        .client
        .peer
        .list_all_tools()
        .await
        .expect("tools/list");
    let listed: Vec<Value> = listed
        .iter()
        .map(|t| serde_json::to_value(t).expect("serializes"))
        .collect();
    // The testkit's 13 tools, once as `kit_*` and once unprefixed.
    assert_eq!(printed.len(), 26);
    assert_eq!(printed, listed);
}

/// Output piped into a reader that has gone (`switchboard tools | head`)
/// ends the command quietly instead of a panic and a backtrace.
#[test]
fn tools_survives_a_closed_stdout() {
    let config = ConfigBuilder::testkit(10_000).write();
    let mut child = cli_command(&config, &["tools", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run switchboard tools");
    // Close the reading end before the host has loaded anything to print.
    drop(child.stdout.take());
    let output = child
        .wait_with_output()
        .expect("wait for switchboard tools");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("panicked"),
        "switchboard panicked on a closed stdout ({}):\n{stderr}",
        output.status
    );
}

/// `check` reports limits and grants per plugin (every kind: tools, http,
/// folders, env), and warns about a `grants.tools` pattern that matches no
/// tool (a typo an admin would miss).
#[test]
fn check_reports_limits_grants_and_dead_patterns() {
    let config = ConfigBuilder::new()
        .server("max_chain_depth = 4")
        .plugin(
            "kit",
            Fixture::Testkit.path(),
            "limits = { timeout_ms = 1234, memory_mb = 48, max_result_kb = 77, max_concurrent = 5 }\n\
             grants.tools = [\"kit2_echo\", \"nosuch_*\"]\n\
             grants.env = [\"LANG\"]\n\
             grants.dirs = { \"/cfg\" = { path = \".\", mode = \"rw\" } }",
        )
        .plugin("kit2", Fixture::Testkit.path(), "")
        .plugin(
            "web",
            Fixture::Testkit.path(),
            "grants.http = [\"https://api.example.com\", \"http://127.0.0.1:8080\"]",
        )
        .write();
    let check = run_cli(&config, &["check"]);
    check.assert_success();
    let stdout = &check.stdout;
    assert_line(
        stdout,
        &["warning", "plugin `kit`", "`nosuch_*`", "matches no tool"],
    );
    assert!(
        !stdout.contains("`kit2_echo` matches no tool"),
        "a matching pattern was reported as dead:\n{stdout}"
    );
    assert_line(stdout, &["kit ", "1234ms", "48MiB", "77KiB", " 5 "]);
    assert_line(
        stdout,
        &[
            "kit ",
            "tools: kit2_echo, nosuch_*",
            "dir /cfg -> ",
            "(read-write)",
            "env: LANG",
        ],
    );
    assert_line(stdout, &["kit2 ", "nothing"]);
    // A plugin granted only HTTP is not shown as granted nothing.
    // (The limits table has a `web` row too: look in the grants section.)
    let web = stdout
        .lines()
        .skip_while(|line| !line.starts_with("GRANTS"))
        .find(|line| line.starts_with("web "))
        .unwrap_or_else(|| panic!("no grants row for web:\n{stdout}"));
    assert!(
        web.contains("http: https://api.example.com, http://127.0.0.1:8080")
            && !web.contains("nothing"),
        "web's HTTP grants are not shown: {web}"
    );
}
