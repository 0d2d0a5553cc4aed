//! Interop through the gateway: the PyPI `mcp` 2.3.0 client launches `gatekit-gateway` over
//! stdio, exactly as a desktop client would, and the gateway fans out to two real upstreams
//! nobody on the team wrote: server-everything (legacy-only TS SDK) as `everything` and
//! mcp-server-time (dual-era Python SDK) as `time`.
//!
//! What must hold (GATEKIT.md §4, PROTOCOL.md §3.4): names carry the `server__` prefix;
//! calls route by it; a server→client `sampling/createMessage` reaches the client and its answer
//! gets back to the upstream; the SDK's `server/discover` probe gets a plain -32601 (never a
//! modern -32020..-32022, never silence, which would cost the client a 10 s probe timeout) and
//! the client then completes a legacy `initialize`.
//!
//! Every expectation runs twice: against gatekit (`gatekit_*`) and against
//! `tests/interop/refproxy.py` (`refproxy_*`), a tiny namespacing proxy that proves the
//! expectations are satisfiable, so a failing `gatekit_*` test points at the gateway.

#[path = "support/interop.rs"]
mod interop;

use std::path::PathBuf;

use interop::{path_string, Anchors, DriverRun};
use tempfile::TempDir;

/// Per-upstream request timeout in the generated config (seconds); under the driver's own
/// deadline so a stuck upstream shows up as a gateway error, not a killed driver.
const UPSTREAM_REQUEST_TIMEOUT_SECS: u64 = 30;
/// The protocol versions a legacy `initialize` may settle on (the client offers 2025-11-25).
const HANDSHAKE_VERSIONS: [&str; 4] = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];
const BASIC_CHECKS: [&str; 5] = ["tools_listed", "echo", "sum", "time", "ping"];

/// A temporary gatekit config with the two real upstreams; the directory lives as long as it.
struct GatewayConfig {
    _dir: TempDir,
    path: PathBuf,
}

impl GatewayConfig {
    fn write(anchors: &Anchors) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("gatekit-interop-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temp dir: {e}"));
        let yaml = format!(
            "proxy:\n  transport: stdio\n  upstreams:\n    - name: everything\n      command: {}\n    \
             - name: time\n      command: {}\n  timeouts: {{request_timeout: {}}}\n",
            flow_list(anchors.everything_command()),
            flow_list(anchors.time_command()),
            UPSTREAM_REQUEST_TIMEOUT_SECS,
        );
        let path = dir.path().join("gatekit.yaml");
        std::fs::write(&path, yaml).unwrap_or_else(|e| panic!("cannot write the config: {e}"));
        Self { _dir: dir, path }
    }
}

/// A YAML flow list of strings. JSON string literals are valid YAML flow scalars, so any path
/// quotes correctly.
fn flow_list(argv: Vec<String>) -> String {
    let items: Vec<String> = argv
        .into_iter()
        .map(|s| serde_json::Value::String(s).to_string())
        .collect();
    format!("[{}]", items.join(", "))
}

/// Which proxy sits between the driver and the two upstreams.
enum Proxy {
    Gatekit(GatewayConfig),
    Reference,
}

impl Proxy {
    fn gatekit(anchors: &Anchors) -> Self {
        Self::Gatekit(GatewayConfig::write(anchors))
    }

    /// The proxy's command line, as an MCP client's config would launch it.
    fn command(&self, anchors: &Anchors) -> Vec<String> {
        match self {
            Self::Gatekit(config) => vec![
                env!("CARGO_BIN_EXE_gatekit-gateway").to_string(),
                "--config".to_string(),
                path_string(&config.path),
            ],
            Self::Reference => {
                let upstreams = serde_json::json!({
                    "everything": anchors.everything_command(),
                    "time": anchors.time_command(),
                });
                vec![
                    path_string(&anchors.python),
                    path_string(&anchors.root.join("tests/interop/refproxy.py")),
                    upstreams.to_string(),
                ]
            }
        }
    }
}

fn expect_basic(run: &DriverRun) {
    run.assert_passed(&BASIC_CHECKS);
    let tools = run.strs_at("/facts/tools");
    for name in [
        "everything__echo",
        "everything__get-sum",
        "time__get_current_time",
    ] {
        assert!(tools.contains(&name), "{name} not listed\n{}", run.report());
    }
    assert_eq!(
        run.str_at("/facts/echo_text"),
        "Echo: gatekit interop \u{2713} caf\u{e9}"
    );
    assert_eq!(run.str_at("/facts/sum_text"), "The sum of 2 and 3 is 5.");
    assert_eq!(run.str_at("/facts/time/timezone"), "UTC");
    assert_eq!(
        run.str_at("/facts/ping"),
        "ok",
        "a legacy session pings\n{}",
        run.report()
    );
    let version = run.str_at("/protocol_version");
    assert!(
        HANDSHAKE_VERSIONS.contains(&version),
        "negotiated {version}\n{}",
        run.report()
    );
}

/// The era probe: answered (no SDK timeout) with a plain -32601, then the legacy handshake.
fn expect_discover_refused(run: &DriverRun) {
    let discover = &run.summary["wire"]["discover"];
    assert_eq!(discover["answered"], true, "{}", run.report());
    assert_eq!(discover["error_code"], -32601, "{}", run.report());
    assert_eq!(discover["next_method"], "initialize", "{}", run.report());
}

fn expect_sampling(run: &DriverRun) {
    run.assert_passed(&["sampling"]);
    assert!(
        run.str_at("/facts/sampling_text")
            .contains("gatekit-sampled"),
        "{}",
        run.report()
    );
    assert_eq!(
        run.strs_at("/facts/sampling_prompt"),
        ["Resource trigger-sampling-request context: hi"],
        "{}",
        run.report()
    );
    let relayed = run.strs_at("/wire/server_requests");
    assert!(
        relayed.contains(&"sampling/createMessage"),
        "{}",
        run.report()
    );
}

fn expect_prompts_resources(run: &DriverRun) {
    run.assert_passed(&["prompt", "resources"]);
    let prompts = run.strs_at("/facts/prompts");
    assert!(
        prompts.contains(&"everything__simple-prompt"),
        "{}",
        run.report()
    );
    let uris = run.strs_at("/facts/resource_uris");
    assert_eq!(
        uris.len(),
        7,
        "server-everything has 7 static documents\n{}",
        run.report()
    );
    assert!(
        uris.iter().all(|u| u.starts_with("everything__demo://")),
        "{}",
        run.report()
    );
    let read = run.str_at("/facts/read_uri");
    assert_eq!(
        read,
        "everything__demo://resource/static/document/features.md"
    );
}

fn basic_auto(test: &str, proxy: impl FnOnce(&Anchors) -> Proxy) {
    let Some(anchors) = Anchors::require(test) else {
        return;
    };
    let proxy = proxy(&anchors);
    let run = anchors.run("gateway-basic", "auto", &proxy.command(&anchors));
    expect_basic(&run);
    expect_discover_refused(&run);
}

fn basic_legacy(test: &str, proxy: impl FnOnce(&Anchors) -> Proxy) {
    let Some(anchors) = Anchors::require(test) else {
        return;
    };
    let proxy = proxy(&anchors);
    let run = anchors.run("gateway-basic", "legacy", &proxy.command(&anchors));
    expect_basic(&run);
    assert!(
        run.summary["wire"]["discover"].is_null(),
        "{}",
        run.report()
    );
    assert_eq!(run.strs_at("/wire/client_methods")[0], "initialize");
}

fn sampling(test: &str, proxy: impl FnOnce(&Anchors) -> Proxy) {
    let Some(anchors) = Anchors::require(test) else {
        return;
    };
    let proxy = proxy(&anchors);
    expect_sampling(&anchors.run("gateway-sampling", "auto", &proxy.command(&anchors)));
}

fn prompts_resources(test: &str, proxy: impl FnOnce(&Anchors) -> Proxy) {
    let Some(anchors) = Anchors::require(test) else {
        return;
    };
    let proxy = proxy(&anchors);
    let run = anchors.run(
        "gateway-prompts-resources",
        "auto",
        &proxy.command(&anchors),
    );
    expect_prompts_resources(&run);
}

#[test]
fn gatekit_basic_tools_through_two_real_upstreams() {
    basic_auto(
        "gatekit_basic_tools_through_two_real_upstreams",
        Proxy::gatekit,
    );
}

#[test]
fn gatekit_basic_tools_with_a_legacy_only_client() {
    basic_legacy(
        "gatekit_basic_tools_with_a_legacy_only_client",
        Proxy::gatekit,
    );
}

#[test]
fn gatekit_relays_sampling_between_upstream_and_client() {
    sampling(
        "gatekit_relays_sampling_between_upstream_and_client",
        Proxy::gatekit,
    );
}

#[test]
fn gatekit_prefixes_prompts_and_resource_uris() {
    prompts_resources("gatekit_prefixes_prompts_and_resource_uris", Proxy::gatekit);
}

#[test]
fn refproxy_basic_tools_through_two_real_upstreams() {
    basic_auto("refproxy_basic_tools_through_two_real_upstreams", |_| {
        Proxy::Reference
    });
}

#[test]
fn refproxy_basic_tools_with_a_legacy_only_client() {
    basic_legacy("refproxy_basic_tools_with_a_legacy_only_client", |_| {
        Proxy::Reference
    });
}

#[test]
fn refproxy_relays_sampling_between_upstream_and_client() {
    sampling(
        "refproxy_relays_sampling_between_upstream_and_client",
        |_| Proxy::Reference,
    );
}

#[test]
fn refproxy_prefixes_prompts_and_resource_uris() {
    prompts_resources("refproxy_prefixes_prompts_and_resource_uris", |_| {
        Proxy::Reference
    });
}
