//! `bench` runs its three phases against a "mock" and a "gateway" found by path. Here both are
//! tiny shell wrappers around the test server; the gateway wrapper checks the generated config
//! names the mock and serves the tool under the `mock__` namespace, like the real gateway.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use support::{exe, num, run};

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
fn bench_runs_three_phases_direct_vs_gateway() {
    let dir = std::env::temp_dir().join(format!("gatekit-loadgen-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mock = script(
        &dir,
        "gatekit-mock",
        &format!("exec '{}' __test-server", exe()),
    );
    // $1 = --config, $2 = the generated YAML; refuse to start unless it points at the mock.
    let gateway = script(
        &dir,
        "gatekit-gateway",
        &format!(
            "[ \"$1\" = --config ] && grep -q 'transport: stdio' \"$2\" && grep -qF '{}' \"$2\" || exit 7\nexec '{}' __test-server --prefix mock__",
            mock.display(),
            exe()
        ),
    );
    let r = run(
        "bench",
        &[
            "bench",
            "--quick",
            "--duration",
            "300ms",
            "--mock",
            mock.to_str().unwrap(),
            "--gateway",
            gateway.to_str().unwrap(),
            "--check",
            "errors=0",
            "--check",
            "ratio.throughput>=0.01",
        ],
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        r.code(),
        0,
        "stdout: {}\nstderr: {}",
        r.stdout(),
        r.stderr()
    );
    let scenarios = r.report()["scenarios"].as_array().unwrap();
    let names: Vec<&str> = scenarios
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["latency-floor-1000rps", "open-20000rps", "closed-c64"]
    );
    for s in scenarios {
        let targets: Vec<&str> = s["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(targets, ["direct", "gateway"]);
        let runs = s["rounds"][0]["runs"].as_array().unwrap();
        let gw = runs.iter().find(|x| x["target"] == "gateway").unwrap();
        assert_eq!(gw["resolved_tools"][0], "mock__echo");
        assert!(num(&s["targets"][1]["summary"], "/ok") > 0.0);
        assert_eq!(s["ratios"][0]["target"], "gateway");
    }
    assert_eq!(scenarios[0]["load"]["rate"], 1000.0);
    assert_eq!(scenarios[2]["load"]["concurrency"], 64);
    assert_eq!(
        r.report()["checks"].as_array().unwrap().len(),
        3 * 2 + 3,
        "errors per target, ratio per scenario"
    );
}
