use super::*;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

#[derive(Debug, Default)]
struct Record {
    data: Vec<u8>,
    writes: u64,
    flushes: u64,
    shutdown: bool,
}

/// An AsyncWrite that records what it gets, accepts at most `max_per_write` bytes per call and can be told
/// to fail.
struct Recorder {
    rec: Arc<Mutex<Record>>,
    max_per_write: usize,
    vectored: bool,
    fail: Option<io::ErrorKind>,
}

impl Recorder {
    fn new(max_per_write: usize, vectored: bool) -> (Self, Arc<Mutex<Record>>) {
        let rec = Arc::new(Mutex::new(Record::default()));
        let w = Recorder {
            rec: Arc::clone(&rec),
            max_per_write,
            vectored,
            fail: None,
        };
        (w, rec)
    }

    fn take(&mut self, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        if let Some(kind) = self.fail {
            return Poll::Ready(Err(kind.into()));
        }
        let mut rec = self.rec.lock().expect("not poisoned");
        rec.writes += 1;
        let mut room = self.max_per_write;
        let mut n = 0;
        for buf in bufs {
            let k = buf.len().min(room);
            rec.data.extend_from_slice(&buf[..k]);
            room -= k;
            n += k;
            if room == 0 {
                break;
            }
        }
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for Recorder {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.take(&[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.vectored {
            self.take(bufs)
        } else {
            let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| b);
            self.take(&[IoSlice::new(first)])
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.vectored
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.rec.lock().expect("not poisoned").flushes += 1;
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.rec.lock().expect("not poisoned").shutdown = true;
        Poll::Ready(Ok(()))
    }
}

fn expected(frames: &[OutFrame]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in frames {
        out.extend_from_slice(&f.to_bytes());
        out.push(b'\n');
    }
    out
}

async fn run_all(frames: Vec<OutFrame>, w: Recorder) -> (io::Result<WriterExit>, Arc<WriterStats>) {
    let (tx, rx) = frame_channel();
    for f in frames {
        tx.try_send(f).expect("fits the channel");
    }
    drop(tx);
    let stats = Arc::new(WriterStats::default());
    (run_writer(rx, w, Arc::clone(&stats)).await, stats)
}

#[tokio::test]
async fn queued_frames_go_out_in_order_in_few_writes() {
    let frames: Vec<OutFrame> = (0..1000)
        .map(|i| OutFrame::One(format!("{{\"jsonrpc\":\"2.0\",\"id\":{i}}}").into()))
        .collect();
    let (w, rec) = Recorder::new(usize::MAX, false);
    let (exit, stats) = run_all(frames.clone(), w).await;
    assert_eq!(exit.expect("no io error"), WriterExit::Closed);
    let rec = rec.lock().expect("not poisoned");
    assert_eq!(rec.data, expected(&frames));
    assert!(
        rec.writes * 50 <= 1000,
        "{} writes for 1000 frames",
        rec.writes
    );
    assert!(rec.shutdown);
    assert_eq!(stats.frames.load(Ordering::Relaxed), 1000);
    assert_eq!(stats.writes.load(Ordering::Relaxed), rec.writes);
    assert_eq!(stats.bytes.load(Ordering::Relaxed), rec.data.len() as u64);
}

#[tokio::test]
async fn batches_are_capped() {
    // 1000 frames of 1 KiB: about 1 MiB, so at least four batches of WRITE_BATCH_BYTES.
    let frames: Vec<OutFrame> = (0..1000)
        .map(|i| OutFrame::One(Bytes::from(vec![b'a' + (i % 26) as u8; 1023])))
        .collect();
    let (w, rec) = Recorder::new(usize::MAX, false);
    let (exit, _) = run_all(frames.clone(), w).await;
    assert_eq!(exit.expect("no io error"), WriterExit::Closed);
    let rec = rec.lock().expect("not poisoned");
    assert_eq!(rec.data, expected(&frames));
    let min_batches = (1024 * 1000 / WRITE_BATCH_BYTES) as u64;
    assert!(rec.writes >= min_batches && rec.writes <= min_batches + 2);
    assert!(rec.flushes >= min_batches);
}

async fn big_frames_arrive_intact(vectored: bool) {
    let big = Bytes::from(
        (0..16 * 1024 * 1024)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>(),
    );
    let frames = vec![
        OutFrame::One(Bytes::from_static(b"small-1")),
        OutFrame::One(big.clone()),
        OutFrame::One(Bytes::from_static(b"small-2")),
        OutFrame::Spliced(vec![
            Bytes::from_static(b"{\"id\":"),
            Bytes::from_static(b"42"),
            big.slice(1..),
        ]),
        OutFrame::Spliced(vec![
            Bytes::from_static(b"a"),
            Bytes::new(),
            Bytes::from_static(b"b"),
        ]),
    ];
    // Partial writes exercise the resume paths.
    let (w, rec) = Recorder::new(1024 * 1024, vectored);
    let (exit, _) = run_all(frames.clone(), w).await;
    assert_eq!(exit.expect("no io error"), WriterExit::Closed);
    let rec = rec.lock().expect("not poisoned");
    assert!(rec.data == expected(&frames), "16 MiB frames corrupted");
}

#[tokio::test]
async fn big_frames_arrive_intact_vectored() {
    big_frames_arrive_intact(true).await;
}

#[tokio::test]
async fn big_frames_arrive_intact_plain() {
    big_frames_arrive_intact(false).await;
}

#[tokio::test]
async fn broken_pipe_is_returned() {
    let (w, _r) = tokio::io::duplex(64);
    drop(_r);
    let (tx, rx) = frame_channel();
    tx.try_send(OutFrame::One(Bytes::from_static(b"{}")))
        .expect("fits");
    let err = run_writer(rx, w, Arc::default())
        .await
        .expect_err("reader is gone");
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);

    let (mut w, _) = Recorder::new(usize::MAX, true);
    w.fail = Some(io::ErrorKind::BrokenPipe);
    let (res, _) = run_all(vec![OutFrame::One(Bytes::from_static(b"x"))], w).await;
    assert_eq!(
        res.expect_err("write fails").kind(),
        io::ErrorKind::BrokenPipe
    );
}

#[tokio::test]
async fn closing_all_senders_flushes_everything() {
    let (w, rec) = Recorder::new(usize::MAX, false);
    // A BufWriter holds data until flushed: only the writer's final flush can get it to the recorder.
    let w = tokio::io::BufWriter::with_capacity(1 << 20, w);
    let (tx, rx) = frame_channel();
    let task = tokio::spawn(run_writer(rx, w, Arc::default()));
    let mut sent = Vec::new();
    let producers: Vec<_> = (0..4)
        .map(|p| {
            let tx = tx.clone();
            let frames: Vec<OutFrame> = (0..200)
                .map(|i| OutFrame::One(format!("p{p}-{i}").into()))
                .collect();
            sent.push(frames.clone());
            tokio::spawn(async move {
                for f in frames {
                    tx.send(f).await.expect("writer alive");
                }
            })
        })
        .collect();
    drop(tx);
    for p in producers {
        p.await.expect("producer ok");
    }
    let exit = task.await.expect("task ok").expect("no io error");
    assert_eq!(exit, WriterExit::Closed);
    let rec = rec.lock().expect("not poisoned");
    assert!(rec.shutdown);
    let text = String::from_utf8(rec.data.clone()).expect("utf8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 800);
    // Each producer's frames stay in order relative to each other.
    for (p, frames) in sent.iter().enumerate() {
        let got: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.starts_with(&format!("p{p}-")))
            .collect();
        let want: Vec<String> = frames
            .iter()
            .map(|f| String::from_utf8(f.to_bytes().to_vec()).expect("utf8"))
            .collect();
        assert_eq!(got, want);
    }
}

#[test]
fn out_frame_len() {
    let one = OutFrame::One(Bytes::from_static(b"abc"));
    let spliced = OutFrame::Spliced(vec![Bytes::from_static(b"ab"), Bytes::new(), "c".into()]);
    assert_eq!((one.len(), spliced.len()), (3, 3));
    assert!(!one.is_empty());
    assert!(OutFrame::Spliced(vec![Bytes::new()]).is_empty());
    assert!(OutFrame::One(Bytes::new()).is_empty());
    assert_eq!(spliced.to_bytes(), one.to_bytes());
}
