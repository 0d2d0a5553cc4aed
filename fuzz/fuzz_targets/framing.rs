//! The line codec under any input and any read chunking.
//!
//! Input layout: byte 0 picks the frame limit, byte 1 the number `k` (0..8) of chunk-size bytes
//! that follow, then the stream itself. The stream is fed to `LineCodec` in reads of those sizes,
//! cycled (a size byte of 0 means "everything left"; no size bytes: one read), exactly as
//! `FramedRead` would, and then drained with `decode_eof`.
//!
//! Properties:
//! - the frames equal `split_all` (the naive reference splitter) on the whole stream;
//! - no `Line` exceeds the limit, is blank, or holds a `\n`; every `Oversize` exceeds the limit and
//!   keeps exactly the first `min(len, OVERSIZE_PREFIX_BYTES)` bytes;
//! - between reads the buffer never holds more than the limit plus a possible trailing `\r`
//!   (oversize lines are dropped as they arrive, never buffered).
#![no_main]

use bytes::BytesMut;
use gatekit::framing::{
    split_all, Frame, LineCodec, DEFAULT_MAX_MESSAGE_BYTES, OVERSIZE_PREFIX_BYTES,
};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

/// Limits around every boundary the codec has: none at all, tiny, the prefix size, the default.
const LIMITS: [usize; 11] = [
    0,
    1,
    2,
    3,
    5,
    8,
    64,
    OVERSIZE_PREFIX_BYTES - 1,
    OVERSIZE_PREFIX_BYTES,
    OVERSIZE_PREFIX_BYTES + 1,
    DEFAULT_MAX_MESSAGE_BYTES,
];

/// At most this many chunk-size bytes: enough for irregular read patterns.
const MAX_SIZE_BYTES: u8 = 8;

fuzz_target!(|data: &[u8]| {
    let [limit, k, rest @ ..] = data else { return };
    let max = LIMITS[usize::from(*limit) % LIMITS.len()];
    let (sizes, input) = rest.split_at(usize::from(k % MAX_SIZE_BYTES).min(rest.len()));

    let expected = split_all(input, max);
    let got = decode_in_reads(input, sizes, max);
    assert_eq!(
        got, expected,
        "chunked decode differs from split_all (max {max}, sizes {sizes:?})"
    );

    for frame in &got {
        match frame {
            Frame::Line(line) => {
                assert!(line.len() <= max, "line of {} > max {max}", line.len());
                assert!(!line.contains(&b'\n'));
                assert!(
                    !line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')),
                    "blank line"
                );
            }
            Frame::Oversize { prefix, len } => {
                assert!(*len > max, "oversize of {len} <= max {max}");
                assert_eq!(prefix.len(), (*len).min(OVERSIZE_PREFIX_BYTES));
            }
        }
    }
});

/// Decodes `input` delivered in reads of the sizes in `sizes` (cycled; 0 = the rest).
fn decode_in_reads(input: &[u8], sizes: &[u8], max: usize) -> Vec<Frame> {
    let mut codec = LineCodec::new(max);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut rest = input;
    let mut next_size = sizes.iter().cycle();
    while !rest.is_empty() {
        let n = match next_size.next() {
            None | Some(0) => rest.len(),
            Some(&n) => usize::from(n).min(rest.len()),
        };
        let (read, tail) = rest.split_at(n);
        rest = tail;
        buf.extend_from_slice(read);
        while let Some(frame) = codec.decode(&mut buf).expect("content never errors") {
            out.push(frame);
        }
        assert!(
            buf.len() <= max.saturating_add(1),
            "buffer holds {} bytes with max {max}",
            buf.len()
        );
    }
    while let Some(frame) = codec.decode_eof(&mut buf).expect("content never errors") {
        out.push(frame);
    }
    assert!(buf.is_empty(), "decode_eof left {} bytes", buf.len());
    out
}
