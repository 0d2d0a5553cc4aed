//! `--check` thresholds: parse `METRIC OP VALUE` and evaluate them against a report.
//!
//! Owns: [`Check`] and [`evaluate`]. Metrics: `errors` or any error kind (`timeouts`,
//! `duplicates`, …), `throughput`, latency percentiles `p50 p90 p99 p99.9 max mean` (corrected in
//! open loop, else uncorrected; force one with a `.corrected` / `.uncorrected` suffix),
//! `backlog.max` / `backlog.mean`, `loop_lag.p99` (gateway metrics), and for compare
//! `ratio.throughput ratio.p50 ratio.p99` and `added.p50 added.p99` (each non-first target vs the
//! first). Invariants: latency values need a unit (`ns us µs ms s`); a metric that could not be
//! measured fails its check; every scenario and every applicable target is checked.

use crate::report::{CheckOutcome, RatioReport, Report, TargetReport};

/// A bad `--check` expression.
#[derive(Debug, thiserror::Error)]
#[error("bad --check `{expr}`: {why}")]
pub struct CheckError {
    expr: String,
    why: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Le,
    Ge,
    Lt,
    Gt,
    Eq,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Metric {
    Errors(String),
    Throughput,
    Latency { q: String, basis: Option<bool> },
    Backlog(bool),
    LoopLag,
    Ratio(String),
    Added(String),
}

/// One parsed threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    expr: String,
    metric: Metric,
    op: Op,
    /// Threshold in the metric's unit (µs for durations).
    value: f64,
}

const QUANTILES: &[&str] = &["p50", "p90", "p99", "p99.9", "p999", "max", "mean"];

impl Check {
    /// Parses `p99<=50ms`, `ratio.throughput>=0.6`, `errors=0`, ...
    pub fn parse(expr: &str) -> Result<Self, CheckError> {
        let err = |why| CheckError {
            expr: expr.to_string(),
            why,
        };
        let s: String = expr.chars().filter(|c| !c.is_whitespace()).collect();
        let at = s
            .find(['<', '>', '='])
            .ok_or_else(|| err("no operator (use <=, >=, <, >, =)"))?;
        let (name, rest) = s.split_at(at);
        let (op, value) = if let Some(v) = rest.strip_prefix("<=") {
            (Op::Le, v)
        } else if let Some(v) = rest.strip_prefix(">=") {
            (Op::Ge, v)
        } else if let Some(v) = rest.strip_prefix("==") {
            (Op::Eq, v)
        } else if let Some(v) = rest.strip_prefix('<') {
            (Op::Lt, v)
        } else if let Some(v) = rest.strip_prefix('>') {
            (Op::Gt, v)
        } else if let Some(v) = rest.strip_prefix('=') {
            (Op::Eq, v)
        } else {
            return Err(err("bad operator"));
        };
        let metric = parse_metric(name).ok_or_else(|| err("unknown metric"))?;
        let value = match metric {
            Metric::Latency { .. } | Metric::Backlog(_) | Metric::LoopLag | Metric::Added(_) => {
                parse_duration_us(value)
                    .ok_or_else(|| err("a latency needs a unit: ns, us, ms or s"))?
            }
            _ => value.parse::<f64>().map_err(|_| err("bad number"))?,
        };
        Ok(Self {
            expr: expr.trim().to_string(),
            metric,
            op,
            value,
        })
    }

    /// Whether this check compares targets (needs at least two).
    pub fn is_ratio(&self) -> bool {
        matches!(self.metric, Metric::Ratio(_) | Metric::Added(_))
    }

    fn holds(&self, v: f64) -> bool {
        match self.op {
            Op::Le => v <= self.value,
            Op::Ge => v >= self.value,
            Op::Lt => v < self.value,
            Op::Gt => v > self.value,
            Op::Eq => (v - self.value).abs() < 1e-9,
        }
    }

    fn unit(&self) -> &'static str {
        match self.metric {
            Metric::Errors(_) => "count",
            Metric::Throughput => "rps",
            Metric::Ratio(_) => "ratio",
            _ => "us",
        }
    }

    fn measure_target(&self, t: &TargetReport) -> Option<f64> {
        let s = &t.summary;
        match &self.metric {
            Metric::Errors(kind) => s.errors.kinds.get(kind).map(|v| v as f64),
            Metric::Throughput => Some(s.throughput_rps),
            Metric::Latency { q, basis } => {
                let p = match basis {
                    None => s.latency.headline(),
                    Some(true) => s.latency.corrected.as_ref(),
                    Some(false) => s.latency.uncorrected.as_ref(),
                }?;
                p.get(q)
            }
            Metric::Backlog(max) => {
                s.backlog
                    .as_ref()
                    .map(|b| if *max { b.max_lag_us } else { b.mean_lag_us })
            }
            Metric::LoopLag => s
                .gateway_metrics
                .as_ref()?
                .loop_lag_p99_max_s
                .map(|v| v * 1e6),
            Metric::Ratio(_) | Metric::Added(_) => None,
        }
    }

    fn measure_ratio(&self, r: &RatioReport) -> Option<f64> {
        match &self.metric {
            Metric::Ratio(k) => match k.as_str() {
                "throughput" => r.throughput,
                "p50" => r.p50,
                _ => r.p99,
            },
            Metric::Added(k) => {
                if k == "p50" {
                    r.added_p50_us
                } else {
                    r.added_p99_us
                }
            }
            _ => None,
        }
    }
}

fn parse_metric(name: &str) -> Option<Metric> {
    if let Some(k) = name.strip_prefix("ratio.") {
        return matches!(k, "throughput" | "p50" | "p99").then(|| Metric::Ratio(k.to_string()));
    }
    if let Some(k) = name.strip_prefix("added.") {
        return matches!(k, "p50" | "p99").then(|| Metric::Added(k.to_string()));
    }
    match name {
        "throughput" | "rps" => return Some(Metric::Throughput),
        "backlog.max" => return Some(Metric::Backlog(true)),
        "backlog.mean" => return Some(Metric::Backlog(false)),
        "loop_lag.p99" | "loop_lag" => return Some(Metric::LoopLag),
        _ => {}
    }
    let (q, basis) = if let Some(q) = name.strip_suffix(".corrected") {
        (q, Some(true))
    } else if let Some(q) = name.strip_suffix(".uncorrected") {
        (q, Some(false))
    } else {
        (name, None)
    };
    if QUANTILES.contains(&q) {
        return Some(Metric::Latency {
            q: q.to_string(),
            basis,
        });
    }
    crate::stats::ErrorCounts::default()
        .get(name)
        .map(|_| Metric::Errors(name.to_string()))
}

/// Parses `250us`, `1.5ms`, `2s`, `800ns`, `20µs` into microseconds.
pub fn parse_duration_us(s: &str) -> Option<f64> {
    let units: [(&str, f64); 5] = [
        ("ns", 1e-3),
        ("us", 1.0),
        ("µs", 1.0),
        ("ms", 1e3),
        ("s", 1e6),
    ];
    for (u, mult) in units {
        if let Some(n) = s.strip_suffix(u) {
            let v: f64 = n.parse().ok()?;
            return (v.is_finite() && v >= 0.0).then_some(v * mult);
        }
    }
    None
}

/// Evaluates every check on every scenario of `report`.
pub fn evaluate(checks: &[Check], report: &Report) -> Vec<CheckOutcome> {
    let mut out = Vec::new();
    for s in &report.scenarios {
        for c in checks {
            let mut push = |target: &str, value: Option<f64>| {
                out.push(CheckOutcome {
                    check: c.expr.clone(),
                    scenario: s.name.clone(),
                    target: target.to_string(),
                    value,
                    unit: c.unit(),
                    passed: value.is_some_and(|v| c.holds(v)),
                });
            };
            if c.is_ratio() {
                for r in &s.ratios {
                    push(&r.target, c.measure_ratio(r));
                }
            } else {
                for t in &s.targets {
                    push(&t.name, c.measure_target(t));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        let c = Check::parse("p99<=50ms").unwrap();
        assert_eq!(
            c.metric,
            Metric::Latency {
                q: "p99".into(),
                basis: None
            }
        );
        assert_eq!((c.op, c.value), (Op::Le, 50_000.0));
        let c = Check::parse("ratio.throughput >= 0.6").unwrap();
        assert!(c.is_ratio());
        assert_eq!((c.op, c.value), (Op::Ge, 0.6));
        let c = Check::parse("errors=0").unwrap();
        assert_eq!(c.metric, Metric::Errors("errors".into()));
        let c = Check::parse("p99.9.uncorrected<250us").unwrap();
        assert_eq!(
            c.metric,
            Metric::Latency {
                q: "p99.9".into(),
                basis: Some(false)
            }
        );
        assert_eq!((c.op, c.value), (Op::Lt, 250.0));
        assert_eq!(
            Check::parse("timeouts==0").unwrap().metric,
            Metric::Errors("timeouts".into())
        );
        assert_eq!(Check::parse("added.p99<=1ms").unwrap().value, 1_000.0);
        assert!(Check::parse("p99<=50").is_err(), "latency without a unit");
        assert!(Check::parse("bogus<=1").is_err());
        assert!(Check::parse("p99").is_err());
        assert!(Check::parse("ratio.p90>=1").is_err());
    }

    #[test]
    fn comparisons_hold_as_written() {
        let c = Check::parse("throughput>1000").unwrap();
        assert!(c.holds(1000.5));
        assert!(!c.holds(1000.0));
        let c = Check::parse("errors<=0").unwrap();
        assert!(c.holds(0.0));
        assert!(!c.holds(1.0));
    }
}
