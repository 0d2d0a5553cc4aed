//! The JSON report matches the checked-in schema `schemas/loadgen-report.v1.json`.

mod support;

use serde_json::Value;
use support::{run, schema::validate, server};

fn schema() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../schemas/loadgen-report.v1.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("schema file"))
        .expect("schema is JSON")
}

#[test]
fn open_loop_compare_report_validates() {
    let a = server("");
    let b = server("--prefix mock__ --server-requests-every 50 --error-every 40");
    let r = run(
        "schema-open",
        &[
            "compare",
            "--target",
            &format!("direct={a}"),
            "--target",
            &format!("gateway={b}"),
            "--rounds",
            "1",
            "--rate",
            "400",
            "--poisson",
            "--warmup",
            "100ms",
            "--duration",
            "400ms",
            "--mix",
            "tools/call:echo=8,tools/list=1,ping=1",
            "--payload",
            "10..2000",
            "--check",
            "errors=0",
        ],
    );
    assert_eq!(
        r.code(),
        3,
        "the gateway target has injected errors; stderr: {}",
        r.stderr()
    );
    let report = r.report();
    assert_eq!(report["schema"], "gatekit-loadgen-report/v1");
    let errs = validate(&schema(), report);
    assert!(errs.is_empty(), "schema violations:\n{}", errs.join("\n"));
    // Nullable branches are exercised: corrected latency and backlog exist in open loop.
    assert!(report["scenarios"][0]["targets"][0]["summary"]["backlog"].is_object());
    assert!(report["scenarios"][0]["ratios"][0]["throughput"].is_number());
    // Open-loop table: a corrected row per target with the uncorrected row under it.
    let table = r.stdout();
    let rows: Vec<&str> = table.lines().filter(|l| l.contains("corrected")).collect();
    assert_eq!(rows.len(), 4, "{table}");
    assert!(
        rows[0].starts_with("direct") && rows[0].contains(" corrected"),
        "{table}"
    );
    assert!(rows[1].trim_start().starts_with("uncorrected"), "{table}");
}

#[test]
fn closed_loop_run_report_validates_and_the_validator_bites() {
    let r = run(
        "schema-closed",
        &["run", "--target", &server(""), "-c", "4", "-n", "200"],
    );
    assert_eq!(r.code(), 0, "stderr: {}", r.stderr());
    let s = schema();
    let report = r.report().clone();
    assert!(
        validate(&s, &report).is_empty(),
        "{:?}",
        validate(&s, &report)
    );
    assert!(report["scenarios"][0]["targets"][0]["summary"]["latency"]["corrected"].is_null());

    // The validator is not vacuous: an extra field, a missing field, a wrong type all fail.
    let mut extra = report.clone();
    extra["scenarios"][0]["targets"][0]["summary"]["surprise"] = Value::from(1);
    assert!(!validate(&s, &extra).is_empty());
    let mut missing = report.clone();
    missing["scenarios"][0]["load"]
        .as_object_mut()
        .unwrap()
        .remove("seed");
    assert!(!validate(&s, &missing).is_empty());
    let mut wrong = report;
    wrong["scenarios"][0]["targets"][0]["summary"]["errors"]["timeout"] = Value::from("none");
    assert!(!validate(&s, &wrong).is_empty());
}
