//! The session's output side: one writer future owns the sink and drains everything queued on its
//! channel before writing, so a burst of answers costs one `write` and one flush, not one each.
//!
//! Invariants: output leaves in exactly the order it was queued; nothing is written while the
//! [`StallGate`] is closed; after [`Out::Close`], a write error, or [`Out::Final`], the sink is
//! gone and later output is discarded (a real process writing into a closed pipe loses it too).

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::stall::StallGate;

/// How many output items may wait for the writer; when full the session stops reading, which is
/// the backpressure a real server applies to a client that does not read its answers.
pub const WRITER_QUEUE: usize = 1024;

/// Stop gathering a batch at this size and write it; bounds the batch buffer for small frames.
pub const WRITE_BATCH_BYTES: usize = 256 * 1024;

/// Frames at least this big are written straight from their `Bytes` instead of being copied into
/// the batch buffer.
const DIRECT_WRITE_BYTES: usize = 64 * 1024;

/// One item of output, in order.
#[derive(Debug)]
pub enum Out {
    /// Complete frames (one or more lines).
    Bytes(Bytes),
    /// Bytes written one per write, `pause` apart (the slow-drip fault).
    Drip {
        /// What to write.
        bytes: Bytes,
        /// Pause after each byte.
        pause: Duration,
    },
    /// The last output: write, flush, close the sink (the EOF-without-newline fault).
    Final(Bytes),
    /// Close the sink now and keep running (the close-stdout fault).
    Close,
}

struct Sink<W> {
    w: Option<W>,
}

impl<W: AsyncWrite + Unpin> Sink<W> {
    async fn write(&mut self, data: &[u8]) {
        if let Some(w) = &mut self.w {
            if let Err(e) = w.write_all(data).await {
                tracing::debug!(error = %e, "output closed by peer; discarding further output");
                self.w = None;
            }
        }
    }

    async fn flush(&mut self) {
        if let Some(w) = &mut self.w {
            if let Err(e) = w.flush().await {
                tracing::debug!(error = %e, "flush failed; discarding further output");
                self.w = None;
            }
        }
    }

    async fn close(&mut self) {
        if let Some(mut w) = self.w.take() {
            // Shutdown errors only mean the peer is already gone.
            let _ = w.shutdown().await;
        }
    }
}

/// Writes everything `rx` yields to `w` until every sender is gone (or [`Out::Final`]).
pub async fn run<W: AsyncWrite + Unpin>(
    w: W,
    mut rx: mpsc::Receiver<Out>,
    stall: Arc<StallGate>,
) -> io::Result<()> {
    let mut sink = Sink { w: Some(w) };
    let mut batch: Vec<u8> = Vec::with_capacity(WRITE_BATCH_BYTES);
    let mut carry: Option<Out> = None;
    loop {
        let item = match carry.take() {
            Some(item) => item,
            None => match rx.recv().await {
                Some(item) => item,
                None => break,
            },
        };
        match item {
            Out::Bytes(first) => {
                stall.wait_clear().await;
                let mut next = Some(first);
                // Drain-then-write: gather what is already queued, up to the batch size.
                while let Some(b) = next.take() {
                    if b.len() >= DIRECT_WRITE_BYTES {
                        if !batch.is_empty() {
                            sink.write(&batch).await;
                            batch.clear();
                        }
                        sink.write(&b).await;
                    } else {
                        batch.extend_from_slice(&b);
                    }
                    if batch.len() >= WRITE_BATCH_BYTES {
                        break;
                    }
                    match rx.try_recv() {
                        Ok(Out::Bytes(b)) => next = Some(b),
                        Ok(other) => carry = Some(other),
                        Err(_) => {}
                    }
                }
                if !batch.is_empty() {
                    sink.write(&batch).await;
                    batch.clear();
                }
                sink.flush().await;
                if batch.capacity() > 4 * WRITE_BATCH_BYTES {
                    batch = Vec::with_capacity(WRITE_BATCH_BYTES);
                }
            }
            Out::Drip { bytes, pause } => {
                for byte in bytes.iter() {
                    stall.wait_clear().await;
                    sink.write(std::slice::from_ref(byte)).await;
                    sink.flush().await;
                    tokio::time::sleep(pause).await;
                }
            }
            Out::Final(bytes) => {
                stall.wait_clear().await;
                sink.write(&bytes).await;
                sink.flush().await;
                sink.close().await;
                return Ok(());
            }
            Out::Close => sink.close().await,
        }
    }
    sink.flush().await;
    sink.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn writes_in_order_and_closes_when_senders_go() {
        let (tx, rx) = mpsc::channel(16);
        let (a, mut b) = tokio::io::duplex(1 << 20);
        let stall = Arc::new(StallGate::new(None, None));
        for i in 0..10 {
            tx.send(Out::Bytes(Bytes::from(format!("{i}\n"))))
                .await
                .expect("send");
        }
        tx.send(Out::Bytes(Bytes::from(vec![b'x'; DIRECT_WRITE_BYTES])))
            .await
            .expect("send");
        tx.send(Out::Drip {
            bytes: Bytes::from_static(b"drip\n"),
            pause: Duration::from_millis(1),
        })
        .await
        .expect("send");
        drop(tx);
        run(a, rx, stall).await.expect("run");
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.expect("read");
        let mut expected: Vec<u8> = (0..10)
            .flat_map(|i| format!("{i}\n").into_bytes())
            .collect();
        expected.extend(vec![b'x'; DIRECT_WRITE_BYTES]);
        expected.extend_from_slice(b"drip\n");
        assert_eq!(got, expected);
    }

    #[tokio::test]
    async fn close_discards_later_output() {
        let (tx, rx) = mpsc::channel(16);
        let (a, mut b) = tokio::io::duplex(1024);
        let stall = Arc::new(StallGate::new(None, None));
        let writer = tokio::spawn(run(a, rx, stall));
        tx.send(Out::Bytes(Bytes::from_static(b"before\n")))
            .await
            .expect("send");
        tx.send(Out::Close).await.expect("send");
        tx.send(Out::Bytes(Bytes::from_static(b"after\n")))
            .await
            .expect("send");
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.expect("eof after close");
        assert_eq!(got, b"before\n");
        drop(tx);
        writer.await.expect("join").expect("run");
    }
}
