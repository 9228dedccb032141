//! Malformed input on the wire: the host answers (or ignores) it and keeps
//! serving. Raw bytes, not an SDK, so nothing tidies them up first.

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_e2e::{ConfigBuilder, Era, Host, PATIENCE, connect_http};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{ChildStdin, ChildStdout};

use crate::http::post;

/// A 2025-11-25 `initialize` request, id 1.
pub const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw-e2e","version":"0"}}}"#;

/// A host over stdio, driven line by line.
struct RawStdio {
    host: Host,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    /// Every message the host wrote, in order.
    received: Vec<Value>,
}

impl RawStdio {
    async fn send(&mut self, line: &str) {
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("write to the host");
        self.stdin.flush().await.expect("flush");
    }

    /// Reads until the response to request `id`; every line on stdout must be
    /// a JSON-RPC 2.0 message.
    async fn response(&mut self, id: u64) -> Value {
        loop {
            let line = tokio::time::timeout(PATIENCE, self.stdout.next_line())
                .await
                .unwrap_or_else(|_| panic!("no response to {id}; stderr:\n{}", self.host.stderr()))
                .expect("read the host's stdout")
                .unwrap_or_else(|| {
                    panic!("the host closed stdout; stderr:\n{}", self.host.stderr())
                });
            let message: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout carries a non-JSON line ({e}): {line:?}"));
            assert_eq!(message["jsonrpc"], "2.0", "not JSON-RPC: {line}");
            self.received.push(message.clone());
            if message["id"] == id {
                return message;
            }
        }
    }
}

/// Garbage and non-JSON-RPC lines on stdin do not kill the stdio server:
/// stdout stays pure JSON-RPC and a proper session works afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_survives_garbage_lines() {
    let config = ConfigBuilder::testkit(10_000).write();
    let (host, stdout, stdin) = Host::stdio(&config);
    let mut raw = RawStdio {
        host,
        stdin,
        stdout: BufReader::new(stdout).lines(),
        received: Vec::new(),
    };
    raw.send("this is not json {{{").await;
    raw.send(r#"{"hello":"world"}"#).await;
    raw.send(INITIALIZE).await;
    let initialized = raw.response(1).await;
    assert_eq!(
        initialized["result"]["protocolVersion"], "2025-11-25",
        "{initialized}"
    );
    raw.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        .await;
    raw.send(r#"{"jsonrpc":"2.0","id":99,"method":"no/such/method"}"#)
        .await;
    let unknown_method = raw.response(99).await;
    assert_eq!(
        unknown_method["error"]["code"], -32601,
        "method not found: {unknown_method}"
    );
    raw.send(r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"kit_echo","arguments":{"text":"raw"}}}"#)
        .await;
    let echo = raw.response(2).await;
    assert_eq!(
        echo["result"]["content"],
        json!([{"type": "text", "text": "raw"}]),
        "{echo}"
    );

    // What the host said about the two bad lines (if anything): a parse
    // error or an invalid request, nothing else.
    let about_garbage: Vec<&Value> = raw.received.iter().filter(|m| m["id"].is_null()).collect();
    assert!(about_garbage.len() <= 2, "{about_garbage:?}");
    for message in about_garbage {
        let code = &message["error"]["code"];
        assert!(
            *code == -32700 || *code == -32600,
            "unexpected message: {message}"
        );
    }
}

/// POSTs of garbage and of JSON that is not JSON-RPC are refused with a 4xx
/// or a JSON-RPC error; a session opened before and a new client both keep
/// working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_survives_garbage_posts() {
    let config = ConfigBuilder::testkit(10_000).write();
    let host = Host::http(&config).await;
    let before = connect_http(host.url(), Era::Legacy).await;
    let http = reqwest::Client::new();
    for body in ["this is not json {{{", r#"{"hello":"world"}"#, "[]"] {
        let response = post(&http, &host, body).send().await.expect("POST");
        let status = response.status();
        let text = response.text().await.expect("the response body");
        let refused =
            status.is_client_error() || (status == StatusCode::OK && text.contains("\"error\""));
        assert!(refused, "{body:?} got {status}: {text}");
        assert!(!status.is_server_error(), "{body:?} got {status}: {text}");
    }
    before.assert_echo_works().await;
    connect_http(host.url(), Era::Modern)
        .await
        .assert_echo_works()
        .await;
}
