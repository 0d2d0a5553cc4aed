//! Builders for deliberately broken output (garbage lines, wrong ids, over-long lines, invalid
//! UTF-8) used by the fault tools and flags.
//!
//! Invariant: apart from the deliberate defect, every frame built here follows the normal
//! framing (one line, one `\n`), so each fault tests exactly one thing.

use bytes::BytesMut;

use super::wire;

/// The line the `garbage` tool and `--garbage-every` write.
pub const GARBAGE_LINE: &[u8] = b"this is not json\n";

/// The id the `unknown_id` tool answers first; no client uses it.
pub const UNKNOWN_ID: &[u8] = b"999999999";

/// A standalone line of invalid UTF-8 (`bad_utf8` with `mode:"line"`).
pub const BAD_UTF8_LINE: &[u8] = b"\xff\xfe not utf-8 \xc3\x28\n";

/// Result prefix and suffix around the text of an oversize answer.
const OVERSIZE_HEAD: &[u8] = br#","result":{"content":[{"type":"text","text":""#;
const OVERSIZE_TAIL: &[u8] = br#""}]}}"#;

/// An answer to `id` whose line (without the `\n`) is exactly `len` bytes long, or as short as a
/// valid answer can be if `len` is smaller than that.
pub fn oversize(out: &mut BytesMut, id: &[u8], len: usize) {
    const PREFIX: &[u8] = br#"{"jsonrpc":"2.0","id":"#;
    let fixed = PREFIX.len() + id.len() + OVERSIZE_HEAD.len() + OVERSIZE_TAIL.len();
    let fill = len.saturating_sub(fixed);
    out.reserve(fixed + fill + 1);
    out.extend_from_slice(PREFIX);
    out.extend_from_slice(id);
    out.extend_from_slice(OVERSIZE_HEAD);
    out.resize(out.len() + fill, b'x');
    out.extend_from_slice(OVERSIZE_TAIL);
    out.extend_from_slice(b"\n");
}

/// An answer to `id` whose text contains raw invalid UTF-8 bytes.
pub fn bad_utf8_answer(out: &mut BytesMut, id: &[u8]) {
    wire::begin_result(out, id);
    out.extend_from_slice(b"{\"content\":[{\"type\":\"text\",\"text\":\"bad \xff\xfe bytes\"}]}");
    wire::end(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversize_lines_have_exact_length_and_parse() {
        for len in [100, 1000, 70_000] {
            let mut out = BytesMut::new();
            oversize(&mut out, b"42", len);
            assert_eq!(out.len(), len + 1);
            assert_eq!(out.last(), Some(&b'\n'));
            let v: serde_json::Value = serde_json::from_slice(&out[..len]).expect("json");
            assert_eq!(v["id"], 42);
        }
        let mut tiny = BytesMut::new();
        oversize(&mut tiny, b"1", 3);
        let _: serde_json::Value = serde_json::from_slice(&tiny).expect("still valid");
    }

    #[test]
    fn bad_utf8_is_invalid_but_framed() {
        let mut out = BytesMut::new();
        bad_utf8_answer(&mut out, b"5");
        assert!(std::str::from_utf8(&out).is_err());
        assert_eq!(out.iter().filter(|b| **b == b'\n').count(), 1);
        assert!(String::from_utf8(BAD_UTF8_LINE.to_vec()).is_err());
    }
}
