//! The request mix: which methods and tools are called, how often, with what payload.
//!
//! Owns: parsing `--mix` and `--payload`, the weighted pick, the deterministic payload source,
//! and the pre-built request templates that the writer splices ids and payloads into.
//! Invariants: payload bytes are ASCII alphanumerics, so they need no JSON escaping and an echo
//! can be compared byte for byte; a template plus an id plus a payload slice is exactly one
//! newline-terminated JSON-RPC request.

use crate::rng::Rng;

/// Largest payload one request may carry (the mock's documented upper bound is 16 MiB).
pub const MAX_PAYLOAD_BYTES: u32 = 16 * 1024 * 1024;
/// Extra bytes in the payload source beyond the largest payload, so that requests of the same
/// size start at different offsets and a server that returns a stale buffer is caught.
const PAYLOAD_SLACK: usize = 64 * 1024;

/// A parse error in `--mix` or `--payload`.
#[derive(Debug, thiserror::Error)]
pub enum MixError {
    /// An entry is not `METHOD[:TOOL][=WEIGHT]`.
    #[error("bad mix entry `{0}` (expected METHOD[:TOOL][=WEIGHT], e.g. tools/call:echo=80)")]
    Entry(String),
    /// All weights are zero or the mix is empty.
    #[error("the mix has no entry with a positive weight")]
    Empty,
    /// A payload size is not a byte count or `MIN..MAX`.
    #[error("bad payload size `{0}` (expected BYTES, e.g. 300 or 4KiB, or MIN..MAX)")]
    Payload(String),
}

/// What one mix entry sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `tools/call` of the named tool (name before any gateway prefix is applied).
    Tool(String),
    /// Any other method, sent without params (`tools/list`, `ping`, ...).
    Method(String),
}

impl Call {
    /// Whether the response must echo the payload (the mock's `echo` tool does).
    pub fn verifies_echo(&self) -> bool {
        matches!(self, Call::Tool(t) if t == "echo")
    }

    /// The label used in reports: `tools/call:echo`, `ping`.
    pub fn label(&self) -> String {
        match self {
            Call::Tool(t) => format!("tools/call:{t}"),
            Call::Method(m) => m.clone(),
        }
    }
}

/// One weighted entry of the mix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MixEntry {
    /// What is sent.
    pub call: Call,
    /// Relative weight.
    pub weight: u32,
}

/// A weighted set of calls.
#[derive(Debug, Clone)]
pub struct Mix {
    entries: Vec<MixEntry>,
    cumulative: Vec<u64>,
}

impl Mix {
    /// Parses `tools/call:echo=80,tools/list=10,ping=10` (a missing weight means 1).
    pub fn parse(s: &str) -> Result<Self, MixError> {
        let mut entries = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (call, weight) = match part.rsplit_once('=') {
                Some((c, w)) => {
                    let w = w
                        .trim()
                        .parse::<u32>()
                        .map_err(|_| MixError::Entry(part.into()))?;
                    (c.trim(), w)
                }
                None => (part, 1),
            };
            let call = match call.split_once(':') {
                Some(("tools/call", tool)) if !tool.is_empty() => Call::Tool(tool.to_string()),
                Some(_) => return Err(MixError::Entry(part.into())),
                None if call == "tools/call" => Call::Tool("echo".to_string()),
                None if !call.is_empty() && !call.contains(char::is_whitespace) => {
                    Call::Method(call.to_string())
                }
                None => return Err(MixError::Entry(part.into())),
            };
            entries.push(MixEntry { call, weight });
        }
        Self::new(entries)
    }

    /// A mix from explicit entries.
    pub fn new(entries: Vec<MixEntry>) -> Result<Self, MixError> {
        let mut acc = 0u64;
        let cumulative: Vec<u64> = entries
            .iter()
            .map(|e| {
                acc += u64::from(e.weight);
                acc
            })
            .collect();
        if acc == 0 {
            return Err(MixError::Empty);
        }
        Ok(Self {
            entries,
            cumulative,
        })
    }

    /// The entries, in the order given.
    pub fn entries(&self) -> &[MixEntry] {
        &self.entries
    }

    /// Picks an entry index by weight.
    pub fn pick(&self, rng: &mut Rng) -> usize {
        if self.entries.len() == 1 {
            return 0;
        }
        let total = self.cumulative.last().copied().unwrap_or(1);
        let r = rng.below(total);
        // Mixes have a handful of entries: a linear scan beats a binary search here.
        self.cumulative.iter().position(|c| r < *c).unwrap_or(0)
    }
}

/// Payload size distribution for the argument `message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadSize {
    /// Every request carries this many bytes.
    Fixed(u32),
    /// Uniform between the bounds, inclusive.
    Uniform(u32, u32),
}

impl PayloadSize {
    /// Parses `300`, `4KiB`, `1MiB`, `300..4096`.
    pub fn parse(s: &str) -> Result<Self, MixError> {
        let err = || MixError::Payload(s.to_string());
        let one = |v: &str| -> Result<u32, MixError> {
            let v = v.trim();
            let lower = v.to_ascii_lowercase();
            let (num, mult) = if let Some(n) = lower.strip_suffix("kib").or(lower.strip_suffix('k'))
            {
                (n.to_string(), 1024u64)
            } else if let Some(n) = lower.strip_suffix("mib").or(lower.strip_suffix('m')) {
                (n.to_string(), 1024 * 1024)
            } else {
                (lower.strip_suffix('b').unwrap_or(&lower).to_string(), 1)
            };
            let n: u64 = num.trim().parse().map_err(|_| err())?;
            let bytes = n.checked_mul(mult).ok_or_else(err)?;
            if bytes > u64::from(MAX_PAYLOAD_BYTES) {
                return Err(err());
            }
            Ok(bytes as u32)
        };
        match s.split_once("..") {
            Some((a, b)) => {
                let (a, b) = (one(a)?, one(b)?);
                if a > b {
                    return Err(err());
                }
                Ok(if a == b {
                    Self::Fixed(a)
                } else {
                    Self::Uniform(a, b)
                })
            }
            None => Ok(Self::Fixed(one(s)?)),
        }
    }

    /// The largest size this distribution produces.
    pub fn max(&self) -> u32 {
        match *self {
            Self::Fixed(n) | Self::Uniform(_, n) => n,
        }
    }

    /// The smallest size this distribution produces.
    pub fn min(&self) -> u32 {
        match *self {
            Self::Fixed(n) | Self::Uniform(n, _) => n,
        }
    }

    /// Draws one size.
    pub fn sample(&self, rng: &mut Rng) -> u32 {
        match *self {
            Self::Fixed(n) => n,
            Self::Uniform(a, b) => a + rng.below(u64::from(b - a) + 1) as u32,
        }
    }
}

/// A fixed block of random alphanumerics; each payload is a slice of it, so sending and
/// verifying a payload never allocates.
#[derive(Debug, Clone)]
pub struct PayloadSource {
    bytes: Vec<u8>,
    size: PayloadSize,
}

impl PayloadSource {
    /// Builds the source for `size`, deterministically from `seed`.
    pub fn new(size: PayloadSize, seed: u64) -> Self {
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut rng = Rng::new(seed, 0x9A71_0AD5);
        let len = size.max() as usize + PAYLOAD_SLACK;
        let bytes = (0..len)
            .map(|_| ALNUM[rng.below(ALNUM.len() as u64) as usize])
            .collect();
        Self { bytes, size }
    }

    /// Draws a payload as `(offset, len)` into the source.
    pub fn draw(&self, rng: &mut Rng) -> (u32, u32) {
        let len = self.size.sample(rng);
        let room = self.bytes.len() - len as usize;
        let off = rng.below(room as u64 + 1) as u32;
        (off, len)
    }

    /// The payload bytes at `(offset, len)`; empty if out of range.
    pub fn slice(&self, off: u32, len: u32) -> &[u8] {
        let (off, len) = (off as usize, len as usize);
        self.bytes.get(off..off + len).unwrap_or_default()
    }
}

/// One mix entry, pre-serialized: `head ++ id ++ mid [++ payload ++ tail]`.
#[derive(Debug, Clone)]
pub struct Template {
    head: &'static [u8],
    mid: Vec<u8>,
    tail: &'static [u8],
    /// Whether a payload is spliced in (tool calls).
    pub carries_payload: bool,
    /// Whether the response text must equal the payload.
    pub verify_echo: bool,
}

impl Template {
    /// A template for `call`; `resolved_tool` is the tool name as the target lists it (with any
    /// gateway prefix).
    pub fn new(call: &Call, resolved_tool: Option<&str>) -> Self {
        let head: &'static [u8] = br#"{"jsonrpc":"2.0","id":"#;
        match call {
            Call::Tool(t) => {
                let name = resolved_tool.unwrap_or(t);
                let name = serde_json::Value::String(name.to_string()).to_string();
                let mid = format!(
                    r#","method":"tools/call","params":{{"name":{name},"arguments":{{"message":""#
                );
                Self {
                    head,
                    mid: mid.into_bytes(),
                    tail: b"\"}}}\n",
                    carries_payload: true,
                    verify_echo: call.verifies_echo(),
                }
            }
            Call::Method(m) => {
                let m = serde_json::Value::String(m.clone()).to_string();
                Self {
                    head,
                    mid: format!(r#","method":{m}}}"#).into_bytes(),
                    tail: b"\n",
                    carries_payload: false,
                    verify_echo: false,
                }
            }
        }
    }

    /// Appends the request with `id` and `payload` to `out`.
    pub fn write(&self, out: &mut Vec<u8>, id: u64, payload: &[u8]) {
        out.extend_from_slice(self.head);
        write_u64(out, id);
        out.extend_from_slice(&self.mid);
        if self.carries_payload {
            out.extend_from_slice(payload);
        }
        out.extend_from_slice(self.tail);
    }
}

/// Appends the decimal form of `v` (no allocation; `itoa` in a dozen lines).
pub fn write_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_mix() {
        let m = Mix::parse("tools/call:echo=80,tools/list=10,ping=10").unwrap();
        let calls: Vec<_> = m
            .entries()
            .iter()
            .map(|e| (e.call.label(), e.weight))
            .collect();
        assert_eq!(
            calls,
            vec![
                ("tools/call:echo".into(), 80),
                ("tools/list".into(), 10),
                ("ping".into(), 10)
            ]
        );
        assert!(Mix::parse("tools/call:=3").is_err());
        assert!(Mix::parse("ping=x").is_err());
        assert!(Mix::parse("ping=0").is_err());
        assert!(Mix::parse("").is_err());
    }

    #[test]
    fn pick_follows_weights() {
        let m = Mix::parse("a=1,b=3").unwrap();
        let mut rng = Rng::new(5, 0);
        let mut n = [0u32; 2];
        for _ in 0..40_000 {
            n[m.pick(&mut rng)] += 1;
        }
        let share = f64::from(n[1]) / 40_000.0;
        assert!((share - 0.75).abs() < 0.02, "share {share}");
    }

    #[test]
    fn payload_sizes_parse() {
        assert_eq!(PayloadSize::parse("300").unwrap(), PayloadSize::Fixed(300));
        assert_eq!(
            PayloadSize::parse("4KiB").unwrap(),
            PayloadSize::Fixed(4096)
        );
        assert_eq!(
            PayloadSize::parse("1m").unwrap(),
            PayloadSize::Fixed(1 << 20)
        );
        assert_eq!(
            PayloadSize::parse("300..4096").unwrap(),
            PayloadSize::Uniform(300, 4096)
        );
        assert!(PayloadSize::parse("10..5").is_err());
        assert!(PayloadSize::parse("17MiB").is_err());
    }

    #[test]
    fn template_builds_valid_json_with_payload() {
        let src = PayloadSource::new(PayloadSize::Uniform(0, 64), 9);
        let mut rng = Rng::new(9, 1);
        let t = Template::new(&Call::Tool("echo".into()), Some("mock__echo"));
        let mut out = Vec::new();
        let (off, len) = src.draw(&mut rng);
        t.write(&mut out, 1_234_567, src.slice(off, len));
        assert_eq!(out.last(), Some(&b'\n'));
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["id"], 1_234_567);
        assert_eq!(v["params"]["name"], "mock__echo");
        assert_eq!(
            v["params"]["arguments"]["message"]
                .as_str()
                .unwrap()
                .as_bytes(),
            src.slice(off, len)
        );
        let t = Template::new(&Call::Method("ping".into()), None);
        out.clear();
        t.write(&mut out, 0, b"ignored");
        assert_eq!(out, b"{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"ping\"}\n");
    }

    #[test]
    fn write_u64_matches_display() {
        for v in [0u64, 9, 10, 99, 12_345, u64::MAX] {
            let mut out = Vec::new();
            write_u64(&mut out, v);
            assert_eq!(out, v.to_string().into_bytes());
        }
    }
}
