//! Line framing: gatekit's `LineCodec` (zero-copy `Bytes` frames, resumable `memchr` search) against
//! tokio-util's `LinesCodec` (the baseline: copies every line into a `String` and validates UTF-8).
//!
//! One group per line size (300 B, 4 KiB, 64 KiB, 1 MiB); in each, both codecs decode the same
//! 4 MiB stream delivered three ways: as one buffer, and in 4 KiB and 64 KiB reads (what a pipe
//! typically hands over). Throughput is input bytes per second. Appending each read to the
//! `BytesMut` is part of the measured work for both codecs, as it is in `FramedRead`.

#[path = "support/mod.rs"]
mod support;

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gatekit::framing::{Frame, LineCodec, DEFAULT_MAX_MESSAGE_BYTES};
use tokio_util::codec::{Decoder, LinesCodec};

/// Bytes decoded per iteration: large enough to hold several 1 MiB lines, small enough to stay
/// close to the last-level cache on small VMs.
const STREAM_BYTES: usize = 4 << 20;

/// Line sizes (newline included) from a small request to a multi-MiB tool result.
const LINE_SIZES: [(&str, usize); 4] = [
    ("300B", 300),
    ("4KiB", 4 << 10),
    ("64KiB", 64 << 10),
    ("1MiB", 1 << 20),
];

/// How the stream reaches the decoder: `None` = one buffer, else reads of this many bytes.
const CHUNKINGS: [(&str, Option<usize>); 3] = [
    ("whole", None),
    ("4KiB-reads", Some(4 << 10)),
    ("64KiB-reads", Some(64 << 10)),
];

/// A stream of JSON-RPC-looking lines of exactly `line_len` bytes each (newline included).
fn stream(line_len: usize) -> Vec<u8> {
    const HEAD: &[u8] = br#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":""#;
    const TAIL: &[u8] = br#""}]}}"#;
    let filler = line_len - HEAD.len() - TAIL.len() - 1;
    let mut line = Vec::with_capacity(line_len);
    line.extend_from_slice(HEAD);
    line.extend(b"lorem ipsum dolor sit amet ".iter().cycle().take(filler));
    line.extend_from_slice(TAIL);
    line.push(b'\n');
    let lines = (STREAM_BYTES / line_len).max(1);
    line.repeat(lines)
}

/// Feeds `input` to `codec` as `FramedRead` would and returns the number of frames.
fn decode_all<D>(codec: &mut D, input: &[u8], chunk: Option<usize>) -> usize
where
    D: Decoder,
    D::Error: std::fmt::Debug,
{
    let mut frames = 0;
    let mut buf = BytesMut::new();
    for piece in input.chunks(chunk.unwrap_or(input.len()).max(1)) {
        buf.extend_from_slice(piece);
        while let Some(frame) = codec.decode(&mut buf).expect("valid stream") {
            black_box(frame);
            frames += 1;
        }
    }
    while let Some(frame) = codec.decode_eof(&mut buf).expect("valid stream") {
        black_box(frame);
        frames += 1;
    }
    frames
}

fn lines_codec() -> LinesCodec {
    // The same limit as gatekit's default, so both codecs do their bounds bookkeeping.
    LinesCodec::new_with_max_length(DEFAULT_MAX_MESSAGE_BYTES)
}

fn bench_decode(c: &mut Criterion) {
    for (size_name, line_len) in LINE_SIZES {
        let input = stream(line_len);
        let expected = input.len() / line_len;
        // A bench that decodes the wrong thing measures nothing: both codecs must see every line.
        let mut check = BytesMut::from(&input[..]);
        let first = LineCodec::default().decode(&mut check).expect("decodes");
        assert!(matches!(first, Some(Frame::Line(l)) if l.len() == line_len - 1));
        for (_, chunk) in CHUNKINGS {
            assert_eq!(
                decode_all(&mut LineCodec::default(), &input, chunk),
                expected
            );
            assert_eq!(decode_all(&mut lines_codec(), &input, chunk), expected);
        }

        let mut group = c.benchmark_group(format!("framing/decode/{size_name}"));
        group.throughput(Throughput::Bytes(input.len() as u64));
        for (chunk_name, chunk) in CHUNKINGS {
            group.bench_with_input(
                BenchmarkId::new("LinesCodec (baseline)", chunk_name),
                &input,
                |b, input| b.iter(|| decode_all(&mut lines_codec(), input, chunk)),
            );
            group.bench_with_input(
                BenchmarkId::new("LineCodec", chunk_name),
                &input,
                |b, input| b.iter(|| decode_all(&mut LineCodec::default(), input, chunk)),
            );
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = bench_decode
}
criterion_main!(benches);
