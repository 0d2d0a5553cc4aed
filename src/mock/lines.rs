//! [`LineReader`]: newline-delimited input without copies: bytes are read into one `BytesMut`,
//! lines are found with `memchr` from a resumable scan offset and handed out as slices of the
//! buffer.
//!
//! Invariants: a partial line stays in the buffer across reads (so a cancelled read loses
//! nothing); no line longer than `max` bytes is ever handed out: it is discarded up to its
//! newline and counted; the buffer never holds more than `max` bytes of one unfinished line.

use std::io;

use bytes::{Buf, BytesMut};
use memchr::memchr;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Bytes reserved before each read: big enough that a burst of small requests arrives in one
/// syscall, small enough not to matter per session.
pub const READ_CHUNK: usize = 64 * 1024;

/// Line splitter over one input stream.
#[derive(Debug)]
pub struct LineReader {
    buf: BytesMut,
    /// Bytes of `buf` already searched for a newline.
    scan: usize,
    /// Inside an over-long line: drop bytes until the next newline.
    discarding: bool,
    max: usize,
}

impl LineReader {
    /// A reader that accepts lines of at most `max` bytes (newline excluded).
    pub fn new(max: usize) -> Self {
        Self {
            buf: BytesMut::with_capacity(READ_CHUNK),
            scan: 0,
            discarding: false,
            max,
        }
    }

    /// Reads more input; returns how many bytes arrived (0 = EOF). Cancel-safe: `read_buf` only
    /// appends to the buffer.
    pub async fn fill<R: AsyncRead + Unpin>(&mut self, r: &mut R) -> io::Result<usize> {
        self.buf.reserve(READ_CHUNK);
        r.read_buf(&mut self.buf).await
    }

    /// The last `n` bytes read (for `--record`), before [`Self::drain`] consumes them.
    pub fn tail(&self, n: usize) -> &[u8] {
        &self.buf[self.buf.len().saturating_sub(n)..]
    }

    /// Calls `f` with every complete line (without its `\n`); returns how many over-long lines
    /// were discarded.
    pub fn drain(&mut self, mut f: impl FnMut(&[u8])) -> u64 {
        let mut discarded = 0;
        let mut start = 0;
        while let Some(pos) = memchr(b'\n', &self.buf[self.scan..]) {
            let end = self.scan + pos;
            if self.discarding {
                self.discarding = false;
            } else if end - start > self.max {
                discarded += 1;
            } else {
                f(&self.buf[start..end]);
            }
            start = end + 1;
            self.scan = start;
        }
        self.buf.advance(start);
        self.scan = self.buf.len();
        if !self.discarding && self.buf.len() > self.max {
            discarded += 1;
            self.discarding = true;
        }
        if self.discarding {
            self.buf.clear();
            self.scan = 0;
        }
        discarded
    }

    /// At EOF: hands out a final line that had no newline, if any.
    pub fn finish(&mut self, mut f: impl FnMut(&[u8])) {
        if !self.discarding && !self.buf.is_empty() {
            f(&self.buf[..]);
        }
        self.buf.clear();
        self.scan = 0;
        self.discarding = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn feed(r: &mut LineReader, chunk: &[u8], out: &mut Vec<Vec<u8>>) -> u64 {
        r.buf.extend_from_slice(chunk);
        r.drain(|l| out.push(l.to_vec()))
    }

    #[test]
    fn splits_lines_across_chunks_and_keeps_partials() {
        let mut r = LineReader::new(1024);
        let mut out = Vec::new();
        feed(&mut r, b"ab", &mut out);
        assert!(out.is_empty());
        feed(&mut r, b"c\nde\n\nf", &mut out);
        assert_eq!(out, [b"abc".to_vec(), b"de".to_vec(), b"".to_vec()]);
        r.finish(|l| out.push(l.to_vec()));
        assert_eq!(out.last().map(Vec::as_slice), Some(&b"f"[..]));
    }

    #[test]
    fn over_long_lines_are_discarded_and_counted() {
        let mut r = LineReader::new(4);
        let mut out = Vec::new();
        assert_eq!(feed(&mut r, b"12345678", &mut out), 1);
        assert_eq!(feed(&mut r, b"9999\nok\n", &mut out), 0);
        assert_eq!(feed(&mut r, b"toolong\nyes\n", &mut out), 1);
        assert_eq!(out, [b"ok".to_vec(), b"yes".to_vec()]);
    }

    proptest! {
        #[test]
        fn any_chunking_yields_the_same_lines(
            lines in proptest::collection::vec("[a-z{}\":,]{0,20}", 0..20),
            cuts in proptest::collection::vec(0usize..400, 0..10),
        ) {
            let mut input = Vec::new();
            for l in &lines {
                input.extend_from_slice(l.as_bytes());
                input.push(b'\n');
            }
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (input.len() + 1)).collect();
            cuts.sort_unstable();
            let mut r = LineReader::new(1024);
            let mut out = Vec::new();
            let mut prev = 0;
            for c in cuts.into_iter().chain([input.len()]) {
                feed(&mut r, &input[prev..c], &mut out);
                prev = c;
            }
            let expected: Vec<Vec<u8>> = lines.iter().map(|l| l.as_bytes().to_vec()).collect();
            prop_assert_eq!(out, expected);
        }
    }
}
