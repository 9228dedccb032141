//! Logs go to stderr, always: in stdio mode stdout belongs to the protocol.
//!
//! Lines are formatted on the calling thread and written by
//! `tracing-appender`'s background worker, so a call does not wait for a
//! `write(2)` to stderr (one audit line per call made that a sizeable share
//! of a call's latency). The worker writes through a `BufWriter` that it
//! flushes whenever its queue runs dry, so lines that pile up leave in one
//! syscall. The queue is bounded and not lossy: when stderr cannot keep up,
//! loggers wait rather than lose lines or grow memory.

use std::io::BufWriter;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// Log lines that may wait for the writer thread.
const QUEUE_LINES: usize = 4096;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Flushes every queued line when dropped: hold it until the process ends.
pub type LogGuard = WorkerGuard;

/// Installs the global subscriber. `RUST_LOG` overrides `default_filter`.
pub fn init(default_filter: &str, format: LogFormat) -> LogGuard {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(QUEUE_LINES)
        .thread_name("switchboard-log")
        .finish(BufWriter::new(std::io::stderr()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false);
    // Fails only when a subscriber is set already (by an embedding
    // program), which then keeps logging its own way.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
    guard
}
