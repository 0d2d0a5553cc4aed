//! The writer task: one per sink (a child's stdin, our stdout, a socket), fed by a bounded channel.
//!
//! Owns the byte order of its sink: frames are written in channel order, each followed by exactly one
//! `\n`, and nothing else writes to the sink. Batching is drain-then-write: wait for one frame, take
//! everything already queued (`try_recv`, never waiting) up to [`WRITE_BATCH_BYTES`], copy the small parts
//! into one reusable buffer, write it, flush once. Parts of at least [`DIRECT_WRITE_BYTES`] are never
//! copied: they go out from their own buffers (vectored together with the pending batch when the sink
//! supports it). So a burst of small messages costs one syscall, and a multi-MiB frame costs no memcpy.
//!
//! To stop the task, drop every sender: the task then writes what is queued, flushes, shuts the sink down
//! and returns [`WriterExit::Closed`]. Dropping the future instead loses the frames in the current batch.

use std::io::{self, IoSlice};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// A message for a sink: byte slices written back to back, then one b'\n' (the writer adds it).
#[derive(Debug, Clone)]
pub enum OutFrame {
    /// A frame in one piece (typically a [`crate::framing::Frame::Line`] passed through).
    One(Bytes),
    /// A frame assembled from pieces, e.g. a payload with its id spliced in.
    Spliced(Vec<Bytes>),
}

impl OutFrame {
    /// Length in bytes, without the newline the writer adds.
    pub fn len(&self) -> usize {
        self.parts().iter().map(Bytes::len).sum()
    }

    /// True when the frame has no bytes (it is still written as a bare newline).
    pub fn is_empty(&self) -> bool {
        self.parts().iter().all(Bytes::is_empty)
    }

    /// The pieces in write order.
    pub fn parts(&self) -> &[Bytes] {
        match self {
            OutFrame::One(b) => std::slice::from_ref(b),
            OutFrame::Spliced(parts) => parts,
        }
    }

    /// All pieces joined (copies; for tests and diagnostics, not the data path).
    pub fn to_bytes(&self) -> Bytes {
        match self {
            OutFrame::One(b) => b.clone(),
            OutFrame::Spliced(parts) => parts.concat().into(),
        }
    }
}

impl From<Bytes> for OutFrame {
    fn from(b: Bytes) -> Self {
        OutFrame::One(b)
    }
}

/// Sending half of a sink's frame channel.
pub type FrameTx = mpsc::Sender<OutFrame>;
/// Receiving half of a sink's frame channel, owned by [`run_writer`].
pub type FrameRx = mpsc::Receiver<OutFrame>;

/// Capacity of every frame channel. Deep enough that a burst of small messages drains in one batch
/// (1024 frames of a few hundred bytes is about one [`WRITE_BATCH_BYTES`]), shallow enough that a stalled
/// sink pushes back on its producers quickly instead of buffering (up to 1024 × the frame limit).
pub const FRAME_CHANNEL_CAPACITY: usize = 1024;

/// Most bytes copied into one batch before it is written. Pipe buffers are 64 KiB, so 256 KiB is well past
/// the point where per-write overhead matters, while the reusable buffer stays small.
pub const WRITE_BATCH_BYTES: usize = 256 * 1024;

/// Parts at least this long are written from their own buffer instead of being copied into the batch:
/// beyond this size the memcpy costs more than the extra iovec or syscall.
pub const DIRECT_WRITE_BYTES: usize = 64 * 1024;

/// A bounded channel of [`FRAME_CHANNEL_CAPACITY`] frames for one sink.
pub fn frame_channel() -> (FrameTx, FrameRx) {
    mpsc::channel(FRAME_CHANNEL_CAPACITY)
}

/// Counters of one writer task (relaxed; for metrics and tests).
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Frames taken from the channel.
    pub frames: AtomicU64,
    /// Bytes handed to the sink, newlines included.
    pub bytes: AtomicU64,
    /// Write calls issued on the sink (`write` or `write_vectored`).
    pub writes: AtomicU64,
}

/// Why [`run_writer`] returned without an error.
#[derive(Debug, PartialEq, Eq)]
pub enum WriterExit {
    /// all senders dropped, everything flushed
    Closed,
}

/// Runs until every sender is dropped (then flushes, calls shutdown() on the writer and returns Closed) or a
/// write fails (returns the io error, e.g. BrokenPipe).
pub async fn run_writer<W: AsyncWrite + Unpin>(
    mut rx: FrameRx,
    w: W,
    stats: Arc<WriterStats>,
) -> io::Result<WriterExit> {
    let mut sink = Sink {
        batch: BytesMut::with_capacity(WRITE_BATCH_BYTES),
        vectored: w.is_write_vectored(),
        w,
        stats,
    };
    while let Some(first) = rx.recv().await {
        let mut taken = first.len();
        sink.push(&first).await?;
        // Drain only what is already queued: waiting here would delay the frames we hold.
        while taken < WRITE_BATCH_BYTES {
            let Ok(frame) = rx.try_recv() else { break };
            taken += frame.len();
            sink.push(&frame).await?;
        }
        sink.write_batch().await?;
        sink.w.flush().await?;
    }
    sink.w.flush().await?;
    sink.w.shutdown().await?;
    Ok(WriterExit::Closed)
}

struct Sink<W> {
    w: W,
    batch: BytesMut,
    vectored: bool,
    stats: Arc<WriterStats>,
}

impl<W: AsyncWrite + Unpin> Sink<W> {
    async fn push(&mut self, frame: &OutFrame) -> io::Result<()> {
        self.stats.frames.fetch_add(1, Ordering::Relaxed);
        self.stats
            .bytes
            .fetch_add(frame.len() as u64 + 1, Ordering::Relaxed);
        let parts = frame.parts();
        let big = parts.iter().any(|p| p.len() >= DIRECT_WRITE_BYTES);
        if big && self.vectored {
            // One gather write: what is batched so far, then the frame's pieces, newline included.
            let batch = std::mem::take(&mut self.batch);
            let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(parts.len() + 2);
            slices.push(IoSlice::new(&batch));
            slices.extend(parts.iter().map(|p| IoSlice::new(p)));
            slices.push(IoSlice::new(b"\n"));
            slices.retain(|s| !s.is_empty());
            let res = self.write_vectored_all(&mut slices).await;
            drop(slices);
            // Keep the allocation for the next batch.
            self.batch = batch;
            self.batch.clear();
            return res;
        }
        for part in parts {
            if part.len() >= DIRECT_WRITE_BYTES {
                self.write_batch().await?;
                self.write_all(part).await?;
            } else {
                self.batch.put_slice(part);
            }
        }
        self.batch.put_u8(b'\n');
        Ok(())
    }

    async fn write_batch(&mut self) -> io::Result<()> {
        let batch = std::mem::take(&mut self.batch);
        let res = self.write_all(&batch).await;
        self.batch = batch;
        self.batch.clear();
        res
    }

    /// `write_all` with every call counted.
    async fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = self.w.write(buf).await?;
            self.stats.writes.fetch_add(1, Ordering::Relaxed);
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            buf = &buf[n..];
        }
        Ok(())
    }

    async fn write_vectored_all(&mut self, mut slices: &mut [IoSlice<'_>]) -> io::Result<()> {
        while !slices.is_empty() {
            let n = self.w.write_vectored(slices).await?;
            self.stats.writes.fetch_add(1, Ordering::Relaxed);
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            IoSlice::advance_slices(&mut slices, n);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
