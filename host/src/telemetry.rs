//! Logs go to stderr, always: in stdio mode stdout belongs to the protocol.
//!
//! Lines are formatted on the calling thread and written by a background
//! thread, so a call does not wait for a `write(2)` to stderr (one audit
//! line per call made that a sizeable share of a call's latency). The
//! queue is bounded: when stderr cannot keep up, loggers wait rather than
//! lose lines or grow memory.

use std::io::Write;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Log lines that may wait for the writer thread.
const QUEUE_LINES: usize = 4096;

/// Flushes every queued line when dropped: hold it until the process ends.
pub struct LogGuard {
    sender: Option<SyncSender<Vec<u8>>>,
    writer: Option<JoinHandle<()>>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        // The subscriber keeps its own sender clone; closing ours is not
        // enough, so tell the thread to stop after what is queued.
        if let Some(sender) = self.sender.take() {
            let _ = sender.send(Vec::new());
        }
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// Installs the global subscriber. `RUST_LOG` overrides `default_filter`.
pub fn init(default_filter: &str) -> LogGuard {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let (sender, receiver) = sync_channel(QUEUE_LINES);
    let writer = std::thread::Builder::new()
        .name("switchboard-log".into())
        .spawn(move || write_lines(receiver))
        .ok();
    let installed = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(QueuedStderr(sender.clone()))
        .with_ansi(false)
        .try_init();
    if writer.is_none() || installed.is_err() {
        // No thread (or a subscriber was already set): nothing to flush.
        return LogGuard {
            sender: None,
            writer: None,
        };
    }
    LogGuard {
        sender: Some(sender),
        writer,
    }
}

/// Writes queued lines, a batch per syscall when they pile up, until the
/// empty stop marker or until every sender is gone.
fn write_lines(receiver: Receiver<Vec<u8>>) {
    let stderr = std::io::stderr();
    let mut batch = Vec::with_capacity(8192);
    while let Ok(first) = receiver.recv() {
        let mut stop = first.is_empty();
        batch.extend_from_slice(&first);
        while !stop && batch.len() < 64 * 1024 {
            match receiver.try_recv() {
                Ok(line) if line.is_empty() => stop = true,
                Ok(line) => batch.extend_from_slice(&line),
                Err(_) => break,
            }
        }
        let mut out = stderr.lock();
        let _ = out.write_all(&batch);
        let _ = out.flush();
        batch.clear();
        if stop {
            return;
        }
    }
}

#[derive(Clone)]
struct QueuedStderr(SyncSender<Vec<u8>>);

impl<'a> MakeWriter<'a> for QueuedStderr {
    type Writer = QueuedLine;

    fn make_writer(&'a self) -> QueuedLine {
        QueuedLine {
            line: Vec::new(),
            queue: self.0.clone(),
        }
    }
}

/// One formatted event; queued whole when the formatter is done with it.
struct QueuedLine {
    line: Vec<u8>,
    queue: SyncSender<Vec<u8>>,
}

impl Write for QueuedLine {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for QueuedLine {
    fn drop(&mut self) {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            // The writer thread is gone only at exit: write it directly then.
            if let Err(unsent) = self.queue.send(line) {
                let _ = std::io::stderr().write_all(&unsent.0);
            }
        }
    }
}
