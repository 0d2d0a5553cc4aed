//! `compare` interleaves targets: every round runs every target once, in rotated order, each on
//! a fresh process, and the aggregate is the sum of the rounds.

mod support;

use support::{num, run, server};

#[test]
fn rounds_alternate_the_order_and_merge() {
    let r = run(
        "compare",
        &[
            "compare",
            "--target",
            &format!("direct={}", server("")),
            "--target",
            &format!("gateway={}", server("--prefix mock__")),
            "--rounds",
            "3",
            "-n",
            "150",
            "-c",
            "4",
        ],
    );
    assert_eq!(r.code(), 0, "stderr: {}", r.stderr());
    let sc = &r.report()["scenarios"][0];
    let order: Vec<Vec<&str>> = sc["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|round| {
            round["runs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["target"].as_str().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(
        order,
        [
            ["direct", "gateway"],
            ["gateway", "direct"],
            ["direct", "gateway"]
        ]
    );
    for round in sc["rounds"].as_array().unwrap() {
        for run in round["runs"].as_array().unwrap() {
            let want = if run["target"] == "gateway" {
                "mock__echo"
            } else {
                "echo"
            };
            assert_eq!(
                run["resolved_tools"][0], want,
                "prefix detected from tools/list"
            );
            assert_eq!(run["server"]["name"], "loadgen-test-server");
            assert_eq!(num(&run["summary"], "/ok"), 150.0);
        }
    }
    for t in 0..2 {
        assert_eq!(num(r.summary(t), "/ok"), 450.0, "merged over three rounds");
        assert_eq!(num(r.summary(t), "/latency/uncorrected/count"), 450.0);
    }
    let ratio = &sc["ratios"][0];
    assert_eq!(ratio["target"], "gateway");
    assert_eq!(ratio["baseline"], "direct");
    assert_eq!(ratio["latency_basis"], "uncorrected");
    assert!(num(ratio, "/throughput") > 0.0);
    let table = r.stdout();
    assert!(table.contains("gateway vs direct: throughput"), "{table}");
    for name in ["direct", "gateway"] {
        let row = table
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row:\n{table}"));
        assert!(
            row.contains("uncorrected"),
            "closed loop has only the uncorrected latency: {row}"
        );
    }
}
