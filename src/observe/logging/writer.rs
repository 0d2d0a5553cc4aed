//! The log writer: formatted records go through a bounded queue to one dedicated thread that owns
//! stderr and the log file.
//!
//! Why a thread and not a mutex-guarded file: our stderr is a pipe read by the MCP client, and
//! some clients stop reading it. A blocking write from an async task would then stall a tokio
//! worker, and with it every session on that worker. Here the emitting side only ever does a
//! `try_send`; when the queue is full the record is dropped and counted, and the thread reports
//! the count once it catches up. Logging is off the hot path (no per-message `info!`), so the
//! one allocation per record is irrelevant; what matters is that logging can never block the
//! gateway.
//!
//! The thread drains everything queued and writes it in one go (one `write` to stderr, one
//! buffered flush to the file), as the framing writers do.

use super::rotate::RotatingFile;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tracing_subscriber::fmt::MakeWriter;

/// Records queued for the writer thread. Lines are ~100-300 bytes, so 1024 absorbs a burst (an
/// upstream's stderr flood) while bounding memory at 1024 × [`MAX_RECORD_BYTES`] worst case.
pub(crate) const LOG_QUEUE_CAPACITY: usize = 1024;

/// Longest record kept; longer ones are cut (a log line is not the place for a payload).
pub(crate) const MAX_RECORD_BYTES: usize = 16 * 1024;

/// Largest stderr write assembled from drained records before it is written out.
const MAX_BATCH_BYTES: usize = 64 * 1024;

/// How long [`LogGuard`] waits for the thread to write what is queued. Bounded: if stderr is a
/// full pipe nobody reads, exiting must not hang on it.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

const TRUNCATED: &[u8] = b" [truncated]\n";

enum Msg {
    Record(Vec<u8>),
    Flush(SyncSender<()>),
    Shutdown,
}

/// Where the thread writes.
pub(crate) struct Targets {
    pub stderr: bool,
    pub file: Option<RotatingFile>,
}

/// The `MakeWriter` handed to the fmt layer: each event becomes one [`Record`].
#[derive(Clone, Debug)]
pub(crate) struct LogWriter {
    tx: SyncSender<Msg>,
    dropped: Arc<AtomicU64>,
}

/// Buffers one formatted event; queued as a whole when dropped, so records never interleave.
#[derive(Debug)]
pub(crate) struct Record<'a> {
    buf: Vec<u8>,
    owner: &'a LogWriter,
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = Record<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        Record {
            buf: Vec::new(),
            owner: self,
        }
    }
}

impl Write for Record<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let room = MAX_RECORD_BYTES.saturating_sub(self.buf.len());
        self.buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
        // Claim everything: the cut is reported once, at the end of the record.
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Record<'_> {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let mut record = std::mem::take(&mut self.buf);
        if record.len() >= MAX_RECORD_BYTES {
            record.truncate(MAX_RECORD_BYTES - TRUNCATED.len());
            record.extend_from_slice(TRUNCATED);
        }
        match self.owner.tx.try_send(Msg::Record(record)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.owner.dropped.fetch_add(1, Ordering::Relaxed);
            }
            // The guard is gone (shutdown): nothing left to log to.
            Err(TrySendError::Disconnected(_)) => {}
        }
    }
}

/// Flushes and stops the writer thread when dropped (bounded by a 2 s timeout).
#[derive(Debug)]
pub struct LogGuard {
    inner: Option<GuardInner>,
}

#[derive(Debug)]
struct GuardInner {
    tx: SyncSender<Msg>,
    done: Receiver<()>,
    thread: JoinHandle<()>,
}

impl LogGuard {
    /// A guard with nothing behind it (logging turned off).
    pub(crate) fn inert() -> Self {
        Self { inner: None }
    }

    /// Waits (at most 2 s) until every record queued so far is written.
    pub fn flush(&self) {
        if let Some(inner) = &self.inner {
            let (ack_tx, ack_rx) = sync_channel(1);
            if send_within(
                &inner.tx,
                Msg::Flush(ack_tx),
                Instant::now() + FLUSH_TIMEOUT,
            ) {
                let _ = ack_rx.recv_timeout(FLUSH_TIMEOUT);
            }
        }
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        let deadline = Instant::now() + FLUSH_TIMEOUT;
        if send_within(&inner.tx, Msg::Shutdown, deadline) {
            let left = deadline.saturating_duration_since(Instant::now());
            if !matches!(
                inner.done.recv_timeout(left),
                Err(RecvTimeoutError::Timeout)
            ) {
                let _ = inner.thread.join();
            }
        }
    }
}

/// `send` with a deadline, for control messages that must not be dropped but must not hang.
fn send_within(tx: &SyncSender<Msg>, mut msg: Msg, deadline: Instant) -> bool {
    /// Retry interval while the queue is full: short next to the 2 s budget.
    const RETRY: Duration = Duration::from_millis(5);
    loop {
        match tx.try_send(msg) {
            Ok(()) => return true,
            Err(TrySendError::Disconnected(_)) => return false,
            Err(TrySendError::Full(back)) if Instant::now() < deadline => {
                msg = back;
                std::thread::sleep(RETRY);
            }
            Err(TrySendError::Full(_)) => return false,
        }
    }
}

/// Starts the writer thread.
pub(crate) fn spawn(targets: Targets) -> io::Result<(LogWriter, LogGuard)> {
    spawn_with_capacity(targets, LOG_QUEUE_CAPACITY)
}

fn spawn_with_capacity(targets: Targets, capacity: usize) -> io::Result<(LogWriter, LogGuard)> {
    let (tx, rx) = sync_channel(capacity);
    let (done_tx, done) = sync_channel(1);
    let dropped = Arc::new(AtomicU64::new(0));
    let thread_dropped = Arc::clone(&dropped);
    let thread = std::thread::Builder::new()
        .name("gatekit-log".to_owned())
        .spawn(move || {
            run(&rx, targets, &thread_dropped);
            let _ = done_tx.send(());
        })?;
    let writer = LogWriter {
        tx: tx.clone(),
        dropped,
    };
    Ok((
        writer,
        LogGuard {
            inner: Some(GuardInner { tx, done, thread }),
        },
    ))
}

/// The thread's loop: block for one message, drain the rest, write the batch.
fn run(rx: &Receiver<Msg>, mut targets: Targets, dropped: &AtomicU64) {
    let mut batch: Vec<u8> = Vec::new();
    let mut file_error_reported = false;
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        let mut acks = Vec::new();
        let mut stop = false;
        let mut drained = 0;
        while let Some(msg) = next.take().or_else(|| rx.try_recv().ok()) {
            drained += 1;
            match msg {
                Msg::Record(record) => {
                    if let Some(file) = &mut targets.file {
                        if let Err(err) = file.write_record(&record) {
                            report_file_error(targets.stderr, &mut file_error_reported, &err);
                        }
                    }
                    if targets.stderr {
                        batch.extend_from_slice(&record);
                    }
                }
                Msg::Flush(ack) => acks.push(ack),
                Msg::Shutdown => stop = true,
            }
            // Bounded batches: producers as fast as this thread must not grow the batch forever.
            if stop || drained >= LOG_QUEUE_CAPACITY || batch.len() >= MAX_BATCH_BYTES {
                break;
            }
        }
        let lost = dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            let notice =
                format!("gatekit: {lost} log record(s) dropped: the log writer fell behind\n");
            if let Some(file) = &mut targets.file {
                let _ = file.write_record(notice.as_bytes());
            }
            if targets.stderr {
                batch.extend_from_slice(notice.as_bytes());
            }
        }
        if let Some(file) = &mut targets.file {
            if let Err(err) = file.flush() {
                report_file_error(targets.stderr, &mut file_error_reported, &err);
            }
        }
        if !batch.is_empty() {
            // Nothing to do about a failed stderr write: it is where errors would go.
            let _ = io::stderr().lock().write_all(&batch);
            batch.clear();
        }
        for ack in acks {
            let _ = ack.send(());
        }
        if stop {
            return;
        }
    }
}

/// Says once on stderr (if it is a target: file-only setups exist because some clients kill
/// servers that write to stderr) that the log file is failing.
fn report_file_error(stderr: bool, reported: &mut bool, err: &io::Error) {
    if stderr && !*reported {
        *reported = true;
        let _ = writeln!(
            io::stderr().lock(),
            "gatekit: writing the log file failed: {err}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_reach_the_file_whole_and_in_order() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("gk.log");
        let file = RotatingFile::open(&path, 1 << 20, 1)?;
        let (writer, guard) = spawn(Targets {
            stderr: false,
            file: Some(file),
        })?;
        for i in 0..100 {
            let mut record = writer.make_writer();
            write!(record, "line ")?;
            writeln!(record, "{i}")?;
        }
        guard.flush();
        let text = std::fs::read_to_string(&path)?;
        let expected: String = (0..100).map(|i| format!("line {i}\n")).collect();
        assert_eq!(text, expected);
        Ok(())
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_blocking() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("gk.log");
        let (tx, rx) = sync_channel(2);
        let writer = LogWriter {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        };
        for i in 0..5 {
            writeln!(writer.make_writer(), "r{i}")?;
        }
        assert_eq!(writer.dropped.load(Ordering::Relaxed), 3);
        // The thread then writes what was queued plus one notice about the rest.
        let file = RotatingFile::open(&path, 1 << 20, 1)?;
        let dropped = Arc::clone(&writer.dropped);
        drop(writer);
        run(
            &rx,
            Targets {
                stderr: false,
                file: Some(file),
            },
            &dropped,
        );
        let text = std::fs::read_to_string(&path)?;
        assert!(
            text.starts_with("r0\nr1\ngatekit: 3 log record(s) dropped"),
            "{text}"
        );
        Ok(())
    }

    #[test]
    fn oversized_records_are_cut_with_a_marker() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("gk.log");
        let file = RotatingFile::open(&path, 1 << 30, 1)?;
        let (writer, guard) = spawn_with_capacity(
            Targets {
                stderr: false,
                file: Some(file),
            },
            4,
        )?;
        writer
            .make_writer()
            .write_all(&vec![b'x'; MAX_RECORD_BYTES * 3])?;
        drop(guard);
        let text = std::fs::read_to_string(&path)?;
        assert_eq!(text.len(), MAX_RECORD_BYTES);
        assert!(text.ends_with(" [truncated]\n"));
        Ok(())
    }
}
