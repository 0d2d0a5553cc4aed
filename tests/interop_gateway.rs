//! Interop through the gateway: the PyPI `mcp` 2.3.0 client launches `gatekit-gateway` over
//! stdio, exactly as a desktop client would, and the gateway fans out to two real upstreams
//! nobody on the team wrote: server-everything (legacy-only TS SDK) as `everything` and
//! mcp-server-time (dual-era Python SDK) as `time`.
//!
//! What must hold (GATEKIT.md §4, PROTOCOL.md §3.4): names carry the `server__` prefix;
//! calls route by it; a server→client `sampling/createMessage` reaches the client and its answer
//! gets back to the upstream; the SDK's `server/discover` probe gets a plain -32601 (never a
//! modern -32020..-32022, never silence, which would cost the client a 10 s probe timeout) and
//! the client then completes a legacy `initialize`. The `interop_direct` tests prove the same
//! checks pass against the servers without the gateway.

#[path = "support/interop.rs"]
mod interop;

use std::path::PathBuf;

use interop::{path_string, Anchors};
use tempfile::TempDir;

/// Per-upstream request timeout in the generated config (seconds); well under the driver's
/// own per-request timeout so a stuck upstream shows up as a gateway error, not a hang.
const UPSTREAM_REQUEST_TIMEOUT_SECS: u64 = 30;
/// The protocol versions a legacy `initialize` may settle on (the client offers 2025-11-25).
const HANDSHAKE_VERSIONS: [&str; 4] = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

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
        // JSON string literals are valid YAML flow scalars, so any path quotes correctly.
        let quote = |s: String| serde_json::Value::String(s).to_string();
        let list = |argv: Vec<String>| {
            let items: Vec<String> = argv.into_iter().map(quote).collect();
            format!("[{}]", items.join(", "))
        };
        let yaml = format!(
            "proxy:\n  transport: stdio\n  upstreams:\n    - name: everything\n      command: {}\n    \
             - name: time\n      command: {}\n  timeouts: {{request_timeout: {}}}\n",
            list(anchors.everything_command()),
            list(anchors.time_command()),
            UPSTREAM_REQUEST_TIMEOUT_SECS,
        );
        let path = dir.path().join("gatekit.yaml");
        std::fs::write(&path, yaml).unwrap_or_else(|e| panic!("cannot write the config: {e}"));
        Self { _dir: dir, path }
    }

    /// The gateway's command line, as an MCP client's config would launch it.
    fn gateway_command(&self) -> Vec<String> {
        vec![
            env!("CARGO_BIN_EXE_gatekit-gateway").to_string(),
            "--config".to_string(),
            path_string(&self.path),
        ]
    }
}

#[test]
fn gateway_basic_tools_through_two_real_upstreams() {
    let Some(anchors) = Anchors::require("gateway_basic_tools_through_two_real_upstreams") else {
        return;
    };
    let config = GatewayConfig::write(&anchors);
    let run = anchors.run("gateway-basic", "auto", &config.gateway_command());
    run.assert_passed(&["tools_listed", "echo", "sum", "time", "ping"]);
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
    // The era probe: a plain -32601, answered (no SDK timeout), then the legacy handshake.
    let discover = &run.summary["wire"]["discover"];
    assert_eq!(discover["answered"], true, "{}", run.report());
    assert_eq!(discover["error_code"], -32601, "{}", run.report());
    assert_eq!(discover["next_method"], "initialize", "{}", run.report());
}

#[test]
fn gateway_basic_tools_with_a_legacy_only_client() {
    let Some(anchors) = Anchors::require("gateway_basic_tools_with_a_legacy_only_client") else {
        return;
    };
    let config = GatewayConfig::write(&anchors);
    let run = anchors.run("gateway-basic", "legacy", &config.gateway_command());
    run.assert_passed(&["tools_listed", "echo", "sum", "time", "ping"]);
    assert!(
        run.summary["wire"]["discover"].is_null(),
        "{}",
        run.report()
    );
    assert_eq!(run.strs_at("/wire/client_methods")[0], "initialize");
}

#[test]
fn gateway_relays_sampling_between_upstream_and_client() {
    let Some(anchors) = Anchors::require("gateway_relays_sampling_between_upstream_and_client")
    else {
        return;
    };
    let config = GatewayConfig::write(&anchors);
    let run = anchors.run("gateway-sampling", "auto", &config.gateway_command());
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

#[test]
fn gateway_prefixes_prompts_and_resource_uris() {
    let Some(anchors) = Anchors::require("gateway_prefixes_prompts_and_resource_uris") else {
        return;
    };
    let config = GatewayConfig::write(&anchors);
    let run = anchors.run(
        "gateway-prompts-resources",
        "auto",
        &config.gateway_command(),
    );
    run.assert_passed(&["prompt", "resources"]);
    assert!(
        run.strs_at("/facts/prompts")
            .contains(&"everything__simple-prompt"),
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
    assert_eq!(
        run.str_at("/facts/read_uri"),
        "everything__demo://resource/static/document/features.md"
    );
}
