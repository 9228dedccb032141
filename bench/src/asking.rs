//! 8: what a question to the client costs inside a tool call. The
//! conformance fixture's `test_sampling` asks the client's model once; its
//! `test_simple_text` asks nothing (the baseline, same plugin, same host).
//! 2026-07-28: the first request ends `input_required`, the client answers
//! and retries with `inputResponses` and the signed `requestState`, the host
//! runs the plugin again (two HTTP requests, two fresh instances, the
//! state sealed and checked). 2025-11-25: the host sends
//! `sampling/createMessage` on the session while the call waits.

// Sampling is deprecated by SEP-2577, yet part of both eras.
#![allow(deprecated)]

use std::path::Path;

use rmcp::model::{
    ClientCapabilities, ClientConfig, CreateMessageRequestParams, CreateMessageResult, JsonObject,
    ProtocolVersion, Role, SamplingCapability, SamplingMessage, SamplingMessageContentBlock,
};
use rmcp::service::{RequestContext, RunningService};
use rmcp::{ClientHandler, ErrorData, RoleClient};

use crate::procs::{self, Era, HttpServer};
use crate::stats::{Samples, fmt, header, ratio, row};
use crate::{Paths, Sizes, batch};

/// A client whose model answers at once, so the rows measure the host.
#[derive(Clone)]
struct InstantModel(ClientConfig);

impl InstantModel {
    fn new(era: Era) -> Self {
        let mut capabilities = ClientCapabilities::default();
        capabilities.sampling = Some(SamplingCapability::default());
        let mut info = ClientConfig::default().with_protocol_version(match era {
            Era::Legacy => ProtocolVersion::V_2025_11_25,
            Era::Modern => ProtocolVersion::V_2026_07_28,
        });
        info.capabilities = capabilities;
        Self(info)
    }
}

impl ClientHandler for InstantModel {
    fn get_info(&self) -> ClientConfig {
        self.0.clone()
    }

    async fn create_message(
        &self,
        _params: CreateMessageRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, ErrorData> {
        Ok(CreateMessageResult::new(
            SamplingMessage::new(Role::Assistant, SamplingMessageContentBlock::text("ok")),
            "bench-model".into(),
        ))
    }
}

type Answering = RunningService<RoleClient, InstantModel>;

/// The config: the conformance fixture as `fx`, granted sampling.
fn config(paths: &Paths, cache: &Path) -> anyhow::Result<std::path::PathBuf> {
    let text = format!(
        "[server]\ncache_dir = {:?}\n\n[plugins.fx]\ncomponent = {:?}\ngrants.sampling = true\n",
        cache.display().to_string(),
        paths.conformance.display().to_string()
    );
    let path = paths.work.path().join("asking.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

pub async fn input_round_trip(paths: &Paths, sizes: Sizes) -> anyhow::Result<()> {
    let cache = paths.work.path().join("cache-asking");
    let config = config(paths, &cache)?;
    let config = config.to_str().unwrap_or_default();
    let host = HttpServer::start(
        &paths.host,
        &["serve", "-c", config, "--http", "127.0.0.1:0"],
        None,
    )
    .await?;
    let modern = procs::connect_http_with(
        &host.url,
        procs::pooled_http(),
        Era::Modern,
        InstantModel::new(Era::Modern),
    )
    .await?;
    let legacy = procs::connect_http_with(
        &host.url,
        procs::pooled_http(),
        Era::Legacy,
        InstantModel::new(Era::Legacy),
    )
    .await?;
    let none = JsonObject::new();
    let mut prompt = JsonObject::new();
    prompt.insert("prompt".into(), "hello".into());
    let series: [(&Answering, &str, &JsonObject); 4] = [
        (&modern, "fx_test_simple_text", &none),
        (&modern, "fx_test_sampling", &prompt),
        (&legacy, "fx_test_simple_text", &none),
        (&legacy, "fx_test_sampling", &prompt),
    ];
    let mut samples = vec![Samples::default(); series.len()];
    for (client, tool, arguments) in series {
        batch(client, tool, arguments, 50).await?; // warm-up
    }
    for _ in 0..sizes.rounds {
        for (i, (client, tool, arguments)) in series.iter().enumerate() {
            samples[i].extend(batch(client, tool, arguments, sizes.batch / 2).await?);
        }
    }
    let [modern_plain, modern_asking, legacy_plain, legacy_asking] = &samples[..] else {
        unreachable!()
    };
    header(&format!(
        "8. a question to the client inside a tool call (sampling, conformance fixture), HTTP ({} each)",
        modern_plain.len()
    ));
    let added = |asking: &Samples, plain: &Samples| {
        format!(
            "{:.2}x; +{}",
            ratio(asking.median(), plain.median()),
            fmt(asking.median().saturating_sub(plain.median()))
        )
    };
    row(
        "2026-07-28 fx_test_simple_text (baseline)",
        modern_plain,
        "",
        "",
    );
    row(
        "2026-07-28 fx_test_sampling: input_required + retry",
        modern_asking,
        "2 requests",
        &added(modern_asking, modern_plain),
    );
    row(
        "2025-11-25 fx_test_simple_text (baseline)",
        legacy_plain,
        "",
        "",
    );
    row(
        "2025-11-25 fx_test_sampling: request on the session",
        legacy_asking,
        "",
        &added(legacy_asking, legacy_plain),
    );
    Ok(())
}
