//! The human-readable table: one block per scenario, then the check outcomes.
//!
//! Owns: formatting only — every number shown comes from the report types, so the table and the
//! JSON can never disagree. Invariants: open-loop tables show the corrected latency line first and
//! the uncorrected one under it, with the send backlog beside them; closed loop has only the
//! uncorrected line (there is no schedule to correct against).

use std::fmt::Write as _;

use crate::report::{CheckOutcome, ScenarioReport};
use crate::stats::Percentiles;

/// Formats microseconds for people: `41.2µs`, `1.20ms`, `2.50s`.
pub fn fmt_us(us: f64) -> String {
    if us < 1_000.0 {
        format!("{us:.1}µs")
    } else if us < 1_000_000.0 {
        format!("{:.2}ms", us / 1e3)
    } else {
        format!("{:.2}s", us / 1e6)
    }
}

fn fmt_opt(p: Option<&Percentiles>, f: impl Fn(&Percentiles) -> f64) -> String {
    p.map_or_else(|| "-".to_string(), |p| fmt_us(f(p)))
}

/// Renders one scenario as a table.
pub fn render_scenario(s: &ScenarioReport) -> String {
    let mut o = String::new();
    let l = &s.load;
    let shape = match (l.model, l.rate, l.concurrency) {
        ("open", Some(r), _) => {
            format!("open loop {r}/s{}", if l.poisson { " poisson" } else { "" })
        }
        (_, _, Some(c)) => format!("closed loop, {c} in flight"),
        _ => l.model.to_string(),
    };
    let span = match (l.duration_s, l.requests) {
        (Some(d), _) => format!("{d}s"),
        (None, Some(n)) => format!("{n} requests"),
        _ => String::new(),
    };
    let mix: Vec<String> = l
        .mix
        .iter()
        .map(|m| format!("{}={}", m.call, m.weight))
        .collect();
    let payload = if l.payload.min_bytes == l.payload.max_bytes {
        format!("{} B", l.payload.min_bytes)
    } else {
        format!("{}..{} B", l.payload.min_bytes, l.payload.max_bytes)
    };
    let _ = writeln!(
        o,
        "== {}: {shape}, {span} (+{}s warm-up), {} round(s), mix {}, payload {payload}",
        s.name,
        l.warmup_s,
        l.rounds,
        mix.join(","),
    );
    let _ = writeln!(
        o,
        "{:<12} {:<11} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} | {:>9} | {:>7}",
        "target", "latency", "req/s", "p50", "p90", "p99", "p99.9", "max", "lag max", "errors"
    );
    for t in &s.targets {
        let m = &t.summary;
        let lag = m
            .backlog
            .as_ref()
            .map_or_else(|| "-".into(), |b| fmt_us(b.max_lag_us));
        // Open loop: the corrected line first (the honest one), the uncorrected under it.
        let mut rows = Vec::new();
        if let Some(c) = m.latency.corrected.as_ref() {
            rows.push(("corrected", Some(c)));
        }
        rows.push(("uncorrected", m.latency.uncorrected.as_ref()));
        for (i, (basis, p)) in rows.into_iter().enumerate() {
            let first = i == 0;
            let line = format!(
                "{:<12} {:<11} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} | {:>9} | {:>7}",
                if first { t.name.as_str() } else { "" },
                basis,
                if first {
                    format!("{:.1}", m.throughput_rps)
                } else {
                    String::new()
                },
                fmt_opt(p, |p| p.p50_us),
                fmt_opt(p, |p| p.p90_us),
                fmt_opt(p, |p| p.p99_us),
                fmt_opt(p, |p| p.p999_us),
                fmt_opt(p, |p| p.max_us),
                if first { lag.as_str() } else { "" },
                if first {
                    m.errors.total.to_string()
                } else {
                    String::new()
                },
            );
            let _ = writeln!(o, "{}", line.trim_end());
        }
    }
    for r in &s.ratios {
        let x = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.2}x"));
        let d = |v: Option<f64>| {
            v.map_or_else(
                || "-".into(),
                |v| format!("{}{}", if v >= 0.0 { "+" } else { "-" }, fmt_us(v.abs())),
            )
        };
        let _ = writeln!(
            o,
            "  {} vs {}: throughput {}, p50 {} ({}), p99 {} ({})",
            r.target,
            r.baseline,
            x(r.throughput),
            x(r.p50),
            d(r.added_p50_us),
            x(r.p99),
            d(r.added_p99_us)
        );
    }
    if l.rounds > 1 {
        for t in &s.targets {
            let sp = &t.throughput_spread;
            let _ = writeln!(
                o,
                "  {} req/s over rounds: min {:.1}, median {:.1}, max {:.1}",
                t.name, sp.min, sp.median, sp.max
            );
        }
    }
    for t in &s.targets {
        let e = serde_json::to_value(&t.summary.errors.kinds).unwrap_or_default();
        let nonzero: Vec<String> = e
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, v)| v.as_u64().unwrap_or(0) > 0)
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !nonzero.is_empty() {
            let _ = writeln!(o, "  errors ({}): {}", t.name, nonzero.join(" "));
        }
        let st = &t.summary.server_traffic;
        let notes: u64 = st.notifications.values().sum();
        if st.ping + st.other_requests + notes > 0 {
            let _ = writeln!(
                o,
                "  from {}: {} ping, {} other requests answered, {} notifications",
                t.name, st.ping, st.other_requests, notes
            );
        }
        if let Some(g) = &t.summary.gateway_metrics {
            let _ = writeln!(
                o,
                "  gateway metrics ({}): loop lag p99 max {}, in flight max {}, {} samples, {} failed",
                t.name,
                g.loop_lag_p99_max_s.map_or_else(|| "-".into(), |v| fmt_us(v * 1e6)),
                g.in_flight_max.map_or_else(|| "-".into(), |v| format!("{v}")),
                g.samples,
                g.failed_scrapes
            );
        }
    }
    o
}

/// Renders the check outcomes (failures first line each).
pub fn render_checks(checks: &[CheckOutcome]) -> String {
    let mut o = String::new();
    for c in checks {
        let v = c.value.map_or_else(
            || "not measured".to_string(),
            |v| format!("{v:.3} {}", c.unit),
        );
        let _ = writeln!(
            o,
            "check {}: {} [{} / {}] = {v}",
            if c.passed { "ok  " } else { "FAIL" },
            c.check,
            c.scenario,
            c.target
        );
    }
    o
}
