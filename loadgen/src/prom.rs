//! Prometheus text exposition (format 0.0.4): a strict parser and the two gatekit signals.
//!
//! Owns: [`parse`] (HELP/TYPE/comments, labels with escapes, `+Inf`/`-Inf`/`NaN`, optional
//! timestamps), [`histogram_quantile`], and the extraction of gatekit's loop lag
//! (`gatekit_loop_lag_seconds`, as a summary's `quantile="0.99"` or as a histogram) and in-flight
//! gauge (`gatekit_upstream_in_flight`, summed over series). The sampler that scrapes an endpoint
//! lives in [`crate::scrape`] and is re-exported here.
//! Invariants: a malformed line is an error naming its line number, never silently skipped;
//! label values are unescaped exactly (`\\`, `\"`, `\n`).

use std::collections::BTreeMap;

pub use crate::scrape::{MetricsPoint, MetricsSampler, MetricsSeries};

/// The loop-lag metric family name.
pub const LOOP_LAG: &str = "gatekit_loop_lag_seconds";
/// The in-flight gauge name.
pub const IN_FLIGHT: &str = "gatekit_upstream_in_flight";

/// A parse error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("metrics line {line}: {msg}")]
pub struct PromError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub msg: &'static str,
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name (for histograms including `_bucket`, `_sum`, `_count`).
    pub name: String,
    /// Labels in order of appearance, values unescaped.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
    /// Optional timestamp, ms since the epoch.
    pub timestamp_ms: Option<i64>,
}

impl Sample {
    /// The value of label `k`.
    pub fn label(&self, k: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
}

/// A parsed exposition.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exposition {
    /// Samples in order.
    pub samples: Vec<Sample>,
    /// `# TYPE` per family.
    pub types: BTreeMap<String, String>,
    /// `# HELP` per family, unescaped.
    pub help: BTreeMap<String, String>,
}

/// Parses the text format.
pub fn parse(text: &str) -> Result<Exposition, PromError> {
    let mut out = Exposition::default();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_matches(|c| c == ' ' || c == '\t' || c == '\r');
        let err = |msg| PromError { line: i + 1, msg };
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            let rest = rest.trim_start_matches([' ', '\t']);
            let mut parts = rest.splitn(3, [' ', '\t']);
            match (parts.next(), parts.next(), parts.next()) {
                (Some("HELP"), Some(name), doc) => {
                    out.help
                        .insert(name.to_string(), unescape_help(doc.unwrap_or("")));
                }
                (Some("TYPE"), Some(name), Some(ty)) => {
                    let ty = ty.trim();
                    if !matches!(
                        ty,
                        "counter" | "gauge" | "histogram" | "summary" | "untyped"
                    ) {
                        return Err(err("unknown TYPE"));
                    }
                    out.types.insert(name.to_string(), ty.to_string());
                }
                (Some("TYPE"), _, _) => return Err(err("TYPE needs a name and a type")),
                _ => {} // any other comment
            }
            continue;
        }
        out.samples.push(parse_sample(line).map_err(err)?);
    }
    Ok(out)
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b':'
}

fn is_name_char(c: u8) -> bool {
    is_name_start(c) || c.is_ascii_digit()
}

fn parse_sample(line: &str) -> Result<Sample, &'static str> {
    let b = line.as_bytes();
    let mut i = 0;
    if !b.first().copied().is_some_and(is_name_start) {
        return Err("a sample must start with a metric name");
    }
    while i < b.len() && is_name_char(b[i]) {
        i += 1;
    }
    let name = line[..i].to_string();
    let mut labels = Vec::new();
    let skip_ws = |i: &mut usize| {
        while *i < b.len() && (b[*i] == b' ' || b[*i] == b'\t') {
            *i += 1;
        }
    };
    skip_ws(&mut i);
    if b.get(i) == Some(&b'{') {
        i += 1;
        loop {
            skip_ws(&mut i);
            if b.get(i) == Some(&b'}') {
                i += 1;
                break;
            }
            let start = i;
            if !b
                .get(i)
                .copied()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
            {
                return Err("bad label name");
            }
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let lname = line[start..i].to_string();
            skip_ws(&mut i);
            if b.get(i) != Some(&b'=') {
                return Err("expected `=` after a label name");
            }
            i += 1;
            skip_ws(&mut i);
            if b.get(i) != Some(&b'"') {
                return Err("a label value must be quoted");
            }
            i += 1;
            let mut value = String::new();
            loop {
                match b.get(i) {
                    None => return Err("unterminated label value"),
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') => {
                        match b.get(i + 1) {
                            Some(b'\\') => value.push('\\'),
                            Some(b'"') => value.push('"'),
                            Some(b'n') => value.push('\n'),
                            _ => return Err("bad escape in a label value"),
                        }
                        i += 2;
                    }
                    Some(_) => {
                        // Copy one whole UTF-8 character.
                        let ch = line[i..].chars().next().ok_or("bad label value")?;
                        value.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            labels.push((lname, value));
            skip_ws(&mut i);
            match b.get(i) {
                Some(b',') => i += 1,
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return Err("expected `,` or `}` after a label"),
            }
        }
    }
    let mut rest = line[i..].split_ascii_whitespace();
    let value = rest.next().ok_or("missing value")?;
    let value = parse_value(value).ok_or("bad value")?;
    let timestamp_ms = match rest.next() {
        Some(t) => Some(t.parse::<i64>().map_err(|_| "bad timestamp")?),
        None => None,
    };
    if rest.next().is_some() {
        return Err("trailing text after the timestamp");
    }
    Ok(Sample {
        name,
        labels,
        value,
        timestamp_ms,
    })
}

fn parse_value(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ if s
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'+' | b'e' | b'E')) =>
        {
            s.parse().ok()
        }
        _ => None,
    }
}

fn unescape_help(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('\\') => out.push('\\'),
                Some(o) => {
                    out.push('\\');
                    out.push(o);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `histogram_quantile` over cumulative `(le, count)` buckets, as Prometheus computes it:
/// linear interpolation inside the bucket holding the rank; the highest finite bound if the
/// rank falls in `+Inf`. `None` when there are no observations.
pub fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let mut b: Vec<(f64, f64)> = buckets
        .iter()
        .copied()
        .filter(|(le, _)| !le.is_nan())
        .collect();
    b.sort_by(|x, y| x.0.total_cmp(&y.0));
    let total = b.last().map(|x| x.1)?;
    if total <= 0.0 || b.last().is_some_and(|x| x.0 != f64::INFINITY) {
        return None;
    }
    let rank = q * total;
    let (mut lower, mut below) = (0.0, 0.0);
    for (i, &(le, count)) in b.iter().enumerate() {
        if count >= rank {
            if le == f64::INFINITY {
                return Some(if i == 0 { 0.0 } else { b[i - 1].0 });
            }
            if count == below {
                return Some(le);
            }
            return Some(lower + (le - lower) * (rank - below) / (count - below));
        }
        lower = le;
        below = count;
    }
    None
}

/// Cumulative loop-lag buckets summed over all series, by `le`.
pub fn loop_lag_buckets(e: &Exposition) -> Vec<(f64, f64)> {
    let name = format!("{LOOP_LAG}_bucket");
    let mut by_le: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
    for s in e.samples.iter().filter(|s| s.name == name) {
        let Some(le) = s.label("le").and_then(parse_value) else {
            continue;
        };
        let slot = by_le.entry(le.to_bits()).or_insert((le, 0.0));
        slot.1 += s.value;
    }
    by_le.into_values().collect()
}

/// The loop lag's 99th percentile in seconds: a summary quantile if exported (max over series),
/// else from the histogram — over the interval since `prev` when given, so each sample reflects
/// the last second rather than the whole process lifetime.
pub fn loop_lag_p99(e: &Exposition, prev: Option<&Exposition>) -> Option<f64> {
    let summary = e
        .samples
        .iter()
        .filter(|s| s.name == LOOP_LAG && s.label("quantile").and_then(parse_value) == Some(0.99))
        .map(|s| s.value)
        .filter(|v| !v.is_nan())
        .reduce(f64::max);
    if summary.is_some() {
        return summary;
    }
    let now = loop_lag_buckets(e);
    let delta: Vec<(f64, f64)> = match prev.map(loop_lag_buckets) {
        Some(before) if !before.is_empty() => now
            .iter()
            .map(|&(le, c)| {
                let was = before
                    .iter()
                    .find(|b| b.0.to_bits() == le.to_bits())
                    .map_or(0.0, |b| b.1);
                (le, (c - was).max(0.0))
            })
            .collect(),
        _ => now.clone(),
    };
    histogram_quantile(0.99, &delta).or_else(|| {
        if prev.is_some() {
            None
        } else {
            histogram_quantile(0.99, &now)
        }
    })
}

/// The in-flight gauge summed over all series.
pub fn in_flight(e: &Exposition) -> Option<f64> {
    let mut it = e
        .samples
        .iter()
        .filter(|s| s.name == IN_FLIGHT)
        .map(|s| s.value)
        .peekable();
    it.peek()?;
    Some(it.sum())
}
