//! Shared helpers for the load generator's integration tests: run the real binary against its
//! own hidden test server and read back the JSON report.

#![allow(dead_code)] // each test binary uses a different subset

pub mod schema;

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

/// The binary under test.
pub fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_gatekit-loadgen")
}

/// A target spec for the test server with `flags`.
pub fn server(flags: &str) -> String {
    format!("stdio:{} __test-server {flags}", exe())
}

/// A fresh report path in the system temp dir (unique per test and process).
pub fn report_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "gatekit-loadgen-test-{tag}-{}.json",
        std::process::id()
    ))
}

/// The result of one invocation.
pub struct Run {
    pub out: Output,
    pub report: Option<Value>,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.out.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    pub fn report(&self) -> &Value {
        self.report
            .as_ref()
            .unwrap_or_else(|| panic!("no report; stderr:\n{}", self.stderr()))
    }
    /// The merged summary of target `i` in scenario 0.
    pub fn summary(&self, i: usize) -> &Value {
        &self.report()["scenarios"][0]["targets"][i]["summary"]
    }
}

/// Runs the binary with `args` plus `--json <tmp>` and parses the report if one was written.
pub fn run(tag: &str, args: &[&str]) -> Run {
    let path = report_path(tag);
    let _ = std::fs::remove_file(&path);
    let out = Command::new(exe())
        .args(args)
        .arg("--json")
        .arg(&path)
        .output()
        .expect("spawn gatekit-loadgen");
    let report = std::fs::read(&path)
        .ok()
        .map(|b| serde_json::from_slice(&b).expect("report is JSON"));
    let _ = std::fs::remove_file(&path);
    Run { out, report }
}

/// A number at a JSON pointer.
pub fn num(v: &Value, ptr: &str) -> f64 {
    v.pointer(ptr)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("no number at {ptr} in {v:#}"))
}
