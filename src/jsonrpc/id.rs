//! Ids and splicing: the gateway's own integer ids, and re-emitting a frame with values replaced.
//!
//! Upstream ids are proxy-assigned non-negative integers below 2^53, so any JSON peer (JavaScript
//! included) round-trips them exactly. Client ids are never parsed: they are kept as the raw bytes of their
//! token and spliced back. [`splice`] builds the outgoing frame from slices of the incoming one, so the
//! payload is never copied.

use bytes::Bytes;

use super::envelope::Span;
use crate::framing::writer::OutFrame;

/// Ids the gateway assigns stay below 2^53: JSON numbers above it lose precision in JavaScript peers.
pub const MAX_GATEWAY_ID: u64 = 1 << 53;

/// Longest decimal form of a `u64`.
const U64_DIGITS: usize = 20;

/// Parses an id the gateway assigned: a JSON non-negative integer (no sign, no fraction, no leading zeros, < 2^53).
pub fn parse_u64_id(raw: &[u8]) -> Option<u64> {
    // 2^53 has 16 digits; anything longer is out of range, and rejecting early keeps the loop overflow-free.
    if raw.is_empty() || raw.len() > 16 || (raw[0] == b'0' && raw.len() > 1) {
        return None;
    }
    let mut n: u64 = 0;
    for &b in raw {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(b - b'0');
    }
    (n < MAX_GATEWAY_ID).then_some(n)
}

/// Writes `n` as a JSON integer (no allocation beyond the returned Bytes; use a stack buffer).
pub fn u64_id_bytes(n: u64) -> Bytes {
    let mut buf = [0u8; U64_DIGITS];
    Bytes::copy_from_slice(format_u64(n, &mut buf))
}

/// Formats `n` in decimal into the tail of `buf`, returning the digits.
pub(crate) fn format_u64(mut n: u64, buf: &mut [u8; U64_DIGITS]) -> &[u8] {
    let mut i = U64_DIGITS;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// Appends `n` in decimal to `out`.
pub(crate) fn push_i64(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    let mut buf = [0u8; U64_DIGITS];
    out.extend_from_slice(format_u64(n.unsigned_abs(), &mut buf));
}

/// Splices replacements into a frame without copying the untouched parts: `replacements` are (span, new bytes),
/// non-overlapping, any order; returns OutFrame::Spliced with the pieces in order (or One if nothing to replace).
///
/// Panics if spans overlap or reach past the frame: spans come from [`super::scan`] of this very frame,
/// so that is a bug in the caller, and silently skipping a replacement (an id not rewritten) would be worse.
pub fn splice(frame: &Bytes, replacements: &mut [(Span, Bytes)]) -> OutFrame {
    if replacements.is_empty() {
        return OutFrame::One(frame.clone());
    }
    replacements.sort_unstable_by_key(|(span, _)| span.start);
    let mut parts = Vec::with_capacity(replacements.len() * 2 + 1);
    let mut pos = 0;
    for (span, new) in replacements.iter() {
        assert!(
            pos <= span.start && span.start <= span.end && span.end <= frame.len(),
            "splice: span {span:?} overlaps or exceeds the frame ({} bytes)",
            frame.len()
        );
        if span.start > pos {
            parts.push(frame.slice(pos..span.start));
        }
        if !new.is_empty() {
            parts.push(new.clone());
        }
        pos = span.end;
    }
    if pos < frame.len() {
        parts.push(frame.slice(pos..));
    }
    OutFrame::Spliced(parts)
}

/// JSON-encodes a string (with quotes) as Bytes.
pub fn json_string(s: &str) -> Bytes {
    let mut out = Vec::with_capacity(s.len() + 2);
    push_json_string(&mut out, s);
    out.into()
}

/// Appends `s` as a JSON string token. Control characters are escaped, so the output never holds a raw
/// newline.
pub(crate) fn push_json_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut plain = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => &[],
            _ => continue,
        };
        out.extend_from_slice(&bytes[plain..i]);
        plain = i + 1;
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
    }
    out.extend_from_slice(&bytes[plain..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_u64_id_accepts_only_gateway_ids() {
        assert_eq!(parse_u64_id(b"0"), Some(0));
        assert_eq!(parse_u64_id(b"42"), Some(42));
        assert_eq!(parse_u64_id(b"9007199254740991"), Some(MAX_GATEWAY_ID - 1));
        for bad in [
            &b""[..],
            b"9007199254740992",
            b"18446744073709551616",
            b"01",
            b"-1",
            b"+1",
            b"1.0",
            b"1e3",
            b"\"1\"",
            b" 1",
            b"null",
        ] {
            assert_eq!(
                parse_u64_id(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn u64_id_bytes_round_trips() {
        for n in [0, 1, 9, 10, 12345, MAX_GATEWAY_ID - 1] {
            let b = u64_id_bytes(n);
            assert_eq!(b, n.to_string().as_bytes());
            assert_eq!(parse_u64_id(&b), Some(n));
        }
        assert_eq!(u64_id_bytes(u64::MAX), u64::MAX.to_string().as_bytes());
        let mut v = Vec::new();
        push_i64(&mut v, i64::MIN);
        assert_eq!(v, i64::MIN.to_string().as_bytes());
    }

    #[test]
    fn splice_replaces_in_order_without_copying() {
        let frame = Bytes::from_static(br#"{"id":"abc","params":{"_meta":{"progressToken":7}}}"#);
        let text = std::str::from_utf8(&frame).expect("utf8");
        let id = Span { start: 6, end: 11 };
        let tok_start = text.find('7').expect("token");
        let tok = Span {
            start: tok_start,
            end: tok_start + 1,
        };
        let mut reps = [
            (tok, Bytes::from_static(b"\"t-1\"")),
            (id, u64_id_bytes(99)),
        ];
        let out = splice(&frame, &mut reps);
        assert_eq!(
            out.to_bytes(),
            &br#"{"id":99,"params":{"_meta":{"progressToken":"t-1"}}}"#[..]
        );
        let OutFrame::Spliced(parts) = &out else {
            panic!("expected pieces")
        };
        assert_eq!(parts.len(), 5);
        // Untouched pieces point into the original frame.
        assert_eq!(parts[0].as_ptr(), frame.as_ptr());
        assert_eq!(parts[4].as_ptr(), frame[tok.end..].as_ptr());
    }

    #[test]
    fn splice_edges() {
        let frame = Bytes::from_static(b"123");
        assert!(matches!(splice(&frame, &mut []), OutFrame::One(b) if b == frame));
        let mut whole = [(Span { start: 0, end: 3 }, Bytes::from_static(b"\"x\""))];
        assert_eq!(splice(&frame, &mut whole).to_bytes(), &b"\"x\""[..]);
    }

    #[test]
    #[should_panic(expected = "overlaps")]
    fn splice_rejects_overlaps() {
        let frame = Bytes::from_static(b"0123456789");
        let mut reps = [
            (Span { start: 2, end: 5 }, Bytes::new()),
            (Span { start: 4, end: 6 }, Bytes::new()),
        ];
        splice(&frame, &mut reps);
    }

    #[test]
    fn json_string_matches_serde_and_stays_on_one_line() {
        for s in [
            "",
            "plain",
            "a\"b\\c",
            "line\nbreak\r\n",
            "\t\u{0}\u{1f}\u{7f}",
            "ünï😀",
        ] {
            let b = json_string(s);
            assert!(!b.contains(&b'\n') && !b.contains(&b'\r'));
            assert_eq!(serde_json::from_slice::<String>(&b).expect("valid JSON"), s);
            assert_eq!(b, serde_json::to_vec(s).expect("serializes"));
        }
    }
}
