//! The human-readable table: one block per scenario, then the check outcomes.
//!
//! Owns: formatting only — every number shown comes from the report types, so the table and the
//! JSON can never disagree. Invariants: open-loop tables lead with corrected latency and show the
//! uncorrected p50/p99 and the send backlog beside it; closed-loop tables show the one latency.

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
    let _ = writeln!(
        o,
        "== {}: {shape}, {span} (+{}s warm-up), {} round(s), mix {}, payload {}..{} B",
        s.name,
        l.warmup_s,
        l.rounds,
        mix.join(","),
        l.payload.min_bytes,
        l.payload.max_bytes
    );
    let open = l.model == "open";
    let _ = write!(
        o,
        "{:<12} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "target", "req/s", "p50", "p90", "p99", "p99.9", "max"
    );
    if open {
        let _ = write!(o, " | {:>9} {:>9} | {:>9}", "raw p50", "raw p99", "lag max");
    }
    let _ = writeln!(o, " | {:>7}", "errors");
    for t in &s.targets {
        let m = &t.summary;
        let h = m.latency.headline();
        let _ = write!(
            o,
            "{:<12} {:>10.1} {:>9} {:>9} {:>9} {:>9} {:>9}",
            t.name,
            m.throughput_rps,
            fmt_opt(h, |p| p.p50_us),
            fmt_opt(h, |p| p.p90_us),
            fmt_opt(h, |p| p.p99_us),
            fmt_opt(h, |p| p.p999_us),
            fmt_opt(h, |p| p.max_us)
        );
        if open {
            let u = m.latency.uncorrected.as_ref();
            let lag = m
                .backlog
                .as_ref()
                .map_or_else(|| "-".into(), |b| fmt_us(b.max_lag_us));
            let _ = write!(
                o,
                " | {:>9} {:>9} | {:>9}",
                fmt_opt(u, |p| p.p50_us),
                fmt_opt(u, |p| p.p99_us),
                lag
            );
        }
        let _ = writeln!(o, " | {:>7}", m.errors.total);
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
