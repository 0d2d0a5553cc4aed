//! The Prometheus text parser against a fixture with every feature of the format.

use loadgen::prom::{histogram_quantile, in_flight, loop_lag_buckets, loop_lag_p99, parse};

const FIXTURE: &str = include_str!("fixtures/metrics.txt");

#[test]
fn parses_the_fixture() {
    let e = parse(FIXTURE).expect("fixture parses");
    assert_eq!(e.types["gatekit_loop_lag_seconds"], "histogram");
    assert_eq!(e.types["gatekit_upstream_in_flight"], "gauge");
    assert_eq!(e.help["weird_help"], "line one\nback\\slash");

    let esc = e
        .samples
        .iter()
        .find(|s| s.name == "escapes_total")
        .unwrap();
    assert_eq!(esc.label("path"), Some(r#"C:\dir "quoted""#));
    assert_eq!(esc.label("multi"), Some("a\nb"));
    assert_eq!(esc.label("utf8"), Some("grüße"));
    assert_eq!(esc.value, 3.0);
    assert_eq!(esc.timestamp_ms, Some(1_700_000_000_000));

    let nan = e
        .samples
        .iter()
        .find(|s| s.name == "odd_values" && s.label("kind") == Some("nan"))
        .unwrap();
    assert!(nan.value.is_nan());
    let inf = e
        .samples
        .iter()
        .find(|s| s.name == "odd_values" && s.label("kind") == Some("neg"))
        .unwrap();
    assert_eq!(inf.value, f64::NEG_INFINITY);
    let sci = e
        .samples
        .iter()
        .find(|s| s.name == "odd_values" && s.label("kind") == Some("sci"))
        .unwrap();
    assert_eq!(sci.value, 1.5e-3);
    assert_eq!(sci.timestamp_ms, Some(-5));

    let buckets = loop_lag_buckets(&e);
    assert_eq!(buckets.len(), 5, "le values summed over the two workers");
    assert_eq!(buckets.last(), Some(&(f64::INFINITY, 200.0)));
    let count = e
        .samples
        .iter()
        .filter(|s| s.name == "gatekit_loop_lag_seconds_count")
        .map(|s| s.value)
        .sum::<f64>();
    assert_eq!(count, 200.0);
    assert!(e
        .samples
        .iter()
        .any(|s| s.name == "gatekit_loop_lag_seconds_sum"));
    assert_eq!(in_flight(&e), Some(7.0), "summed over upstreams");
}

#[test]
fn quantiles_follow_prometheus() {
    // 200 observations: 100 ≤ 1 ms, 180 ≤ 5 ms, 198 ≤ 10 ms, 200 ≤ 50 ms.
    let e = parse(FIXTURE).unwrap();
    let p99 = loop_lag_p99(&e, None).unwrap();
    // rank 198 is exactly the 10 ms bound.
    assert!((p99 - 0.010).abs() < 1e-12, "{p99}");
    let b = [
        (0.001, 100.0),
        (0.005, 180.0),
        (0.01, 198.0),
        (f64::INFINITY, 200.0),
    ];
    assert!((histogram_quantile(0.5, &b).unwrap() - 0.001).abs() < 1e-12);
    // rank 140 of (100, 180] interpolates half way between 1 ms and 5 ms.
    assert!((histogram_quantile(0.7, &b).unwrap() - 0.003).abs() < 1e-12);
    assert_eq!(
        histogram_quantile(1.0, &b),
        Some(0.01),
        "+Inf bucket → highest finite bound"
    );
    assert_eq!(histogram_quantile(0.5, &[(f64::INFINITY, 0.0)]), None);

    // Over an interval: only the new observations count.
    let later = FIXTURE
        .replace(
            r#"{le="0.05",worker="1"} 80"#,
            r#"{le="0.05",worker="1"} 130"#,
        )
        .replace(
            r#"{worker="1",le="+Inf"} 80"#,
            r#"{worker="1",le="+Inf"} 130"#,
        );
    assert_ne!(later, FIXTURE);
    let later = parse(&later).unwrap();
    let interval = loop_lag_p99(&later, Some(&e)).unwrap();
    assert!(
        interval > 0.01 && interval <= 0.05,
        "the 50 new slow ticks dominate: {interval}"
    );
}

#[test]
fn summaries_win_and_errors_name_the_line() {
    let e = parse("# TYPE gatekit_loop_lag_seconds summary\ngatekit_loop_lag_seconds{quantile=\"0.5\"} 0.001\ngatekit_loop_lag_seconds{quantile=\"0.99\"} 0.004\n").unwrap();
    assert_eq!(loop_lag_p99(&e, None), Some(0.004));
    assert_eq!(in_flight(&e), None);
    for (bad, line) in [
        ("ok 1\nbad{x=\"1} 2\n", 2),
        ("m{x=unquoted} 1", 1),
        ("m 1 2 3", 1),
        ("m{x=\"\\q\"} 1", 1),
        ("\n\n# TYPE m nonsense\n", 3),
        ("m notanumber", 1),
        ("9m 1", 1),
    ] {
        let err = parse(bad).unwrap_err();
        assert_eq!(err.line, line, "{bad:?}: {err}");
    }
}
