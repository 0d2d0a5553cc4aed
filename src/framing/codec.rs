//! Newline framing: cuts a byte stream into [`Frame`]s without copying.
//!
//! Owns the rules for where one message ends and the next begins:
//!
//! - A frame ends at `\n`; a `\r` right before it is stripped too (so `\r\n` works). At EOF, trailing data
//!   without a newline is the last frame (a trailing `\r` is stripped as if the `\n` had followed).
//! - Blank lines (only spaces, tabs, `\r`) are skipped, never emitted; this includes oversize blank lines.
//! - A line whose content is longer than `max_message_bytes` becomes [`Frame::Oversize`]: its bytes are
//!   dropped as they arrive (the read buffer never grows past the limit plus one read) up to and including
//!   its newline, keeping only its first [`OVERSIZE_PREFIX_BYTES`] so the caller can still recover its id.
//!   The stream then continues normally with the next line.
//! - Content never causes an error; only io errors pass through the [`Decoder`].
//!
//! Invariants: a [`Frame::Line`] is a `split_to(..).freeze()` of the read buffer (zero copy) and never
//! longer than the limit; the newline search resumes where the previous one stopped, so every byte is
//! searched once no matter how the input is chunked. [`split_all`] is a deliberately naive reference with
//! the same semantics, used by property tests and fuzzing to check the codec.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use memchr::memchr;
use tokio_util::codec::Decoder;

/// Default limit for one message. Real tool results carry multi-MiB base64 payloads (images, files), and
/// Python Gatekit's accidental 64 KiB limit broke them; 16 MiB is generous while still bounding memory.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// How much of an oversize line is kept so its id can be recovered. The envelope keys (`jsonrpc`, `id`,
/// `method`) come first in practically every encoder, so 4 KiB is plenty while staying cheap to copy.
pub const OVERSIZE_PREFIX_BYTES: usize = 4096;

/// One unit of input produced by [`LineCodec`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// One complete line without its terminator ("\n", or "\r\n" -> the "\r" is stripped too). Blank lines
    /// (empty or only whitespace) are skipped, never emitted.
    Line(Bytes),
    /// A line longer than the limit: discarded up to and including its newline (or EOF). `prefix` = its first
    /// OVERSIZE_PREFIX_BYTES bytes, `len` = its full length in bytes (without terminator).
    Oversize {
        /// The first [`OVERSIZE_PREFIX_BYTES`] bytes of the line (fewer if the line is shorter).
        prefix: Bytes,
        /// The line's full length in bytes, without its terminator.
        len: usize,
    },
}

/// A [`Decoder`] for newline-delimited messages with a mandatory size limit; see the module docs.
#[derive(Debug)]
pub struct LineCodec {
    max: usize,
    /// Leading bytes of the read buffer already searched for `\n` without a hit; the next search starts here.
    scanned: usize,
    /// Set while the rest of an oversize line is being dropped.
    discard: Option<Discard>,
}

/// What is kept of an oversize line while its remaining bytes are dropped.
#[derive(Debug)]
struct Discard {
    prefix: BytesMut,
    /// Bytes of the line seen so far, including a `\r` that may turn out to be part of its terminator.
    seen: usize,
    ends_with_cr: bool,
    blank: bool,
}

impl Discard {
    fn new() -> Self {
        Self {
            prefix: BytesMut::with_capacity(OVERSIZE_PREFIX_BYTES),
            seen: 0,
            ends_with_cr: false,
            blank: true,
        }
    }

    fn absorb(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let room = OVERSIZE_PREFIX_BYTES.saturating_sub(self.prefix.len());
        self.prefix.put_slice(&bytes[..room.min(bytes.len())]);
        self.seen += bytes.len();
        self.ends_with_cr = bytes.last() == Some(&b'\r');
        self.blank = self.blank && is_blank(bytes);
    }

    /// Ends the line at a newline or EOF; `None` if it was blank.
    fn finish(self) -> Option<Frame> {
        if self.blank {
            return None;
        }
        let len = self.seen - usize::from(self.ends_with_cr);
        let mut prefix = self.prefix;
        prefix.truncate(len);
        Some(Frame::Oversize {
            prefix: prefix.freeze(),
            len,
        })
    }
}

impl LineCodec {
    /// A codec that turns lines longer than `max_message_bytes` into [`Frame::Oversize`].
    pub fn new(max_message_bytes: usize) -> Self {
        Self {
            max: max_message_bytes,
            scanned: 0,
            discard: None,
        }
    }

    /// The configured limit for one line's content.
    pub fn max_message_bytes(&self) -> usize {
        self.max
    }

    /// Turns one line's content (terminator already removed) into its frame, or `None` if blank.
    fn classify(&self, line: BytesMut) -> Option<Frame> {
        if is_blank(&line) {
            None
        } else if line.len() > self.max {
            Some(oversize(&line))
        } else {
            Some(Frame::Line(line.freeze()))
        }
    }
}

impl Default for LineCodec {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_MESSAGE_BYTES)
    }
}

impl Decoder for LineCodec {
    type Item = Frame;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, Self::Error> {
        loop {
            if let Some(mut discard) = self.discard.take() {
                let Some(i) = memchr(b'\n', buf) else {
                    // Drop everything: the buffer stays bounded however long the line is.
                    discard.absorb(buf);
                    buf.clear();
                    self.discard = Some(discard);
                    return Ok(None);
                };
                discard.absorb(&buf[..i]);
                buf.advance(i + 1);
                match discard.finish() {
                    Some(frame) => return Ok(Some(frame)),
                    None => continue,
                }
            }

            let Some(hit) = memchr(b'\n', &buf[self.scanned..]) else {
                self.scanned = buf.len();
                if content_lower_bound(buf) > self.max {
                    let mut discard = Discard::new();
                    discard.absorb(buf);
                    buf.clear();
                    self.scanned = 0;
                    self.discard = Some(discard);
                }
                return Ok(None);
            };
            let end = self.scanned + hit;
            self.scanned = 0;
            let mut line = buf.split_to(end + 1);
            line.truncate(strip_cr(&line[..end]).len());
            if let Some(frame) = self.classify(line) {
                return Ok(Some(frame));
            }
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, Self::Error> {
        if let Some(frame) = self.decode(buf)? {
            return Ok(Some(frame));
        }
        // No newline is left in `buf`: what remains is the unterminated last line.
        self.scanned = 0;
        if let Some(discard) = self.discard.take() {
            // `decode` leaves the buffer empty while discarding.
            return Ok(discard.finish());
        }
        if buf.is_empty() {
            return Ok(None);
        }
        let mut line = buf.split();
        line.truncate(strip_cr(&line).len());
        Ok(self.classify(line))
    }
}

/// Reference one-shot splitter with identical semantics (used by proptests/fuzz to check the codec).
pub fn split_all(input: &[u8], max_message_bytes: usize) -> Vec<Frame> {
    let mut lines: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
    // `split` yields an empty piece after a final newline (or for empty input); it is not a line.
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
        .into_iter()
        .map(strip_cr)
        .filter(|line| !is_blank(line))
        .map(|line| {
            if line.len() > max_message_bytes {
                oversize(line)
            } else {
                Frame::Line(Bytes::copy_from_slice(line))
            }
        })
        .collect()
}

fn oversize(line: &[u8]) -> Frame {
    Frame::Oversize {
        prefix: Bytes::copy_from_slice(&line[..line.len().min(OVERSIZE_PREFIX_BYTES)]),
        len: line.len(),
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The least content length the unterminated line in `buf` can end up with (a final `\r` may belong to
/// the terminator).
fn content_lower_bound(buf: &[u8]) -> usize {
    strip_cr(buf).len()
}

/// JSON insignificant whitespace (the `\n` never reaches here).
fn is_blank(line: &[u8]) -> bool {
    line.iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

#[cfg(test)]
mod tests;
