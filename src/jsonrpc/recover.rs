//! Best-effort id recovery from the first bytes of an oversize line.
//!
//! An oversize frame is never parsed (it was dropped by the codec), but its sender still deserves an
//! error response with its id rather than a timeout. This module walks the top-level keys of the kept
//! prefix with a tiny tolerant tokenizer: nested values are skipped by bracket depth (strings honoured),
//! the truncated tail simply ends the walk. It never allocates on the happy path and never panics.
//!
//! Invariants: only a complete, valid top-level `id` token (a string, or an integer followed by a
//! delimiter so it cannot have been cut) is reported; a second top-level `id` makes the id ambiguous and
//! it is dropped.

use serde::de::IgnoredAny;

use super::envelope::Span;

/// Best-effort id recovery from the first bytes of an oversize line: finds a top-level "id" (string or
/// integer) and whether a top-level "method" key was seen, tolerating the truncated tail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Span of the id token in the prefix.
    pub id: Option<Span>,
    /// A top-level `method` key was seen (the line was a request or notification).
    pub has_method: bool,
    /// A top-level `result` or `error` key was seen (the line was a response).
    pub has_result_or_error: bool,
}

/// Best-effort id recovery from the first bytes of an oversize line: finds a top-level "id" (string or
/// integer) and whether a top-level "method" key was seen, tolerating the truncated tail.
pub fn recover_id(prefix: &[u8]) -> Recovered {
    let mut out = Recovered::default();
    let mut cur = Cursor { b: prefix, i: 0 };
    cur.skip_ws();
    if !cur.eat(b'{') {
        return out;
    }
    let mut ids_seen = 0u32;
    loop {
        cur.skip_ws();
        let Some(key) = cur.string() else { return out };
        let key = key_name(key.of(prefix));
        match key.as_deref() {
            Some("method") => out.has_method = true,
            Some("result" | "error") => out.has_result_or_error = true,
            _ => {}
        }
        cur.skip_ws();
        if !cur.eat(b':') {
            return out;
        }
        cur.skip_ws();
        let Some(value) = cur.value() else { return out };
        if key.as_deref() == Some("id") {
            ids_seen += 1;
            out.id = (ids_seen == 1)
                .then_some(value)
                .filter(|v| is_id_token(v.of(prefix)));
        }
        cur.skip_ws();
        if !cur.eat(b',') {
            return out;
        }
    }
}

/// A key's decoded name; keys with escapes are decoded properly, invalid ones give `None`.
fn key_name(token: &[u8]) -> Option<std::borrow::Cow<'_, str>> {
    let inner = token.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    if !inner.contains(&b'\\') {
        return std::str::from_utf8(inner).ok().map(Into::into);
    }
    serde_json::from_slice::<String>(token).ok().map(Into::into)
}

/// A complete, valid string or integer token.
fn is_id_token(token: &[u8]) -> bool {
    match token.first() {
        // Decoding checks escapes and UTF-8; a rare path, so the allocation does not matter.
        Some(b'"') => serde_json::from_slice::<String>(token).is_ok(),
        Some(b'-' | b'0'..=b'9') => {
            token.iter().all(|b| matches!(b, b'-' | b'0'..=b'9'))
                && serde_json::from_slice::<IgnoredAny>(token).is_ok()
        }
        _ => false,
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.i += usize::from(hit);
        hit
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }

    /// A complete string token at the cursor, quotes included; `None` if absent or cut off.
    fn string(&mut self) -> Option<Span> {
        let start = self.i;
        if !self.eat(b'"') {
            return None;
        }
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                b'"' => return Some(Span { start, end: self.i }),
                b'\\' => self.i += 1,
                _ => {}
            }
        }
        None
    }

    /// A complete value at the cursor; `None` if it is cut off (or the input is not JSON here).
    fn value(&mut self) -> Option<Span> {
        let start = self.i;
        match self.peek()? {
            b'"' => self.string(),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.string()?;
                        }
                        b'{' | b'[' => {
                            depth += 1;
                            self.i += 1;
                        }
                        b'}' | b']' => {
                            depth -= 1;
                            self.i += 1;
                            if depth == 0 {
                                return Some(Span { start, end: self.i });
                            }
                        }
                        _ => self.i += 1,
                    }
                }
            }
            _ => {
                // A scalar ends at a delimiter; reaching the end means it may have been cut.
                loop {
                    match self.peek()? {
                        b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n' => {
                            return (self.i > start).then_some(Span { start, end: self.i });
                        }
                        _ => self.i += 1,
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_of(prefix: &str) -> Option<&str> {
        let r = recover_id(prefix.as_bytes());
        r.id.map(|s| std::str::from_utf8(s.of(prefix.as_bytes())).expect("utf8"))
    }

    #[test]
    fn finds_top_level_ids_in_truncated_prefixes() {
        assert_eq!(
            id_of(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"a":"xx"#),
            Some("7")
        );
        assert_eq!(
            id_of(r#"{"id":"a\"b","method":"x","params":"#),
            Some(r#""a\"b""#)
        );
        assert_eq!(
            id_of(r#" { "method" : "x" , "id" : -12 , "params": [1,2"#),
            Some("-12")
        );
        assert_eq!(
            id_of(r#"{"jsonrpc":"2.0","result":{"content":[{"text":"aaa"#),
            None
        );
        assert_eq!(
            id_of(r#"{"id":9007199254740993}"#),
            Some("9007199254740993")
        );
    }

    #[test]
    fn reports_kind_hints() {
        let r = recover_id(br#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"#);
        assert!(r.has_method && !r.has_result_or_error && r.id.is_none());
        let r = recover_id(br#"{"jsonrpc":"2.0","id":"x","result":{"#);
        assert!(!r.has_method && r.has_result_or_error && r.id.is_some());
        let r = recover_id(br#"{"jsonrpc":"2.0","id":1,"err"#);
        assert!(!r.has_result_or_error);
        let r = recover_id(br#"{"\u0065rror":{"code":1},"id":3,"x"#);
        assert!(r.has_result_or_error);
        assert_eq!(id_of(r#"{"\u0065rror":{"code":1},"id":3,"x"#), Some("3"));
    }

    #[test]
    fn nested_ids_are_not_top_level() {
        assert_eq!(
            id_of(r#"{"params":{"id":5},"method":"x","arguments":{"id""#),
            None
        );
        assert_eq!(
            id_of(r#"{"params":{"s":"}\"{","id":5},"id":6,"method""#),
            Some("6")
        );
    }

    #[test]
    fn cut_or_invalid_ids_are_not_reported() {
        assert_eq!(id_of(r#"{"id":12"#), None, "the integer may have been cut");
        assert_eq!(id_of(r#"{"id":"abc"#), None);
        assert_eq!(id_of(r#"{"id":1.5,"method":"x""#), None);
        assert_eq!(id_of(r#"{"id":true,"method":"x""#), None);
        assert_eq!(id_of(r#"{"id":01,"method":"x""#), None);
        assert_eq!(id_of(r#"{"id":"\x","method":"x""#), None);
        assert_eq!(id_of(r#"{"id":null,"method":"x""#), None);
        assert_eq!(id_of(r#"{"id":1,"id":2,"method":"x""#), None, "ambiguous");
        assert_eq!(id_of(r#"[{"id":1}"#), None);
        assert_eq!(id_of(""), None);
    }

    #[test]
    fn never_panics_on_garbage() {
        let samples: [&[u8]; 8] = [
            b"{",
            b"{\"",
            b"{\"id\"",
            b"{\"id\":",
            b"{]]]]",
            b"{\"a\":}}}",
            b"\xff\xfe",
            b"{\"id\":\"\\",
        ];
        for s in samples {
            assert_eq!(recover_id(s).id, None);
        }
    }
}
