//! Captured plugin stdout/stderr: kept up to a bound, the rest dropped, so a
//! chatty plugin neither traps (as a full `MemoryOutputPipe` would make it)
//! nor grows the host's memory.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// How much of each stream is kept per call.
pub const CAPTURE_LIMIT: usize = 16 * 1024;

#[derive(Clone, Default)]
pub struct CapturedOutput {
    buffer: Arc<Mutex<Captured>>,
}

#[derive(Default)]
struct Captured {
    bytes: Vec<u8>,
    dropped: usize,
}

impl CapturedOutput {
    /// What was kept, lossily decoded, on one line (lines joined by ` | `,
    /// Rust's "run with RUST_BACKTRACE" hint left out), with a note of what
    /// was dropped.
    pub fn contents(&self) -> String {
        let captured = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
        let mut text = String::from_utf8_lossy(&captured.bytes)
            .lines()
            .map(str::trim)
            .filter(|line| {
                !line.is_empty() && !line.starts_with("note: run with `RUST_BACKTRACE=1`")
            })
            .collect::<Vec<_>>()
            .join(" | ");
        if captured.dropped > 0 {
            text.push_str(&format!(" [... {} more bytes dropped]", captured.dropped));
        }
        text
    }

    fn keep(&self, data: &[u8]) {
        let mut captured = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
        let room = CAPTURE_LIMIT.saturating_sub(captured.bytes.len());
        let kept = room.min(data.len());
        captured.bytes.extend_from_slice(&data[..kept]);
        captured.dropped += data.len() - kept;
    }
}

impl IsTerminal for CapturedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl AsyncWrite for CapturedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.keep(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_bounded_prefix_and_counts_the_rest() {
        let out = CapturedOutput::default();
        out.keep(b"hello\n");
        out.keep(&vec![b'x'; CAPTURE_LIMIT]);
        let text = out.contents();
        assert!(text.starts_with("hello | xxx"), "{}", &text[..20]);
        assert!(
            text.ends_with("[... 6 more bytes dropped]"),
            "{}",
            &text[text.len() - 40..]
        );
    }
}
