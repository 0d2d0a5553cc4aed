//! Interop harness self-tests: the Python driver (PyPI `mcp` 2.3.0 client) run straight
//! against the real servers, with no gateway in between. These prove the scenarios' checks
//! match what server-everything 2026.8.31 and mcp-server-time 2026.10.19 really do, so a
//! failing `interop_gateway` test points at the gateway, not at the harness. They also prove
//! the checks can fail (a gateway scenario against an unprefixed server) and that a silent
//! server ends in a clean, bounded failure instead of a hang.

#[path = "support/interop.rs"]
mod interop;

use interop::Anchors;

#[test]
fn direct_everything_basic_calls_in_auto_mode() {
    let Some(anchors) = Anchors::require("direct_everything_basic_calls_in_auto_mode") else {
        return;
    };
    let run = anchors.run("direct-everything", "auto", &anchors.everything_command());
    run.assert_passed(&["tools_listed", "echo", "sum", "ping"]);
    assert_eq!(
        run.str_at("/protocol_version"),
        "2025-11-25",
        "{}",
        run.report()
    );
    assert_eq!(
        run.str_at("/server_name"),
        "mcp-servers/everything",
        "{}",
        run.report()
    );
    assert_eq!(
        run.str_at("/facts/echo_text"),
        "Echo: gatekit interop \u{2713} caf\u{e9}"
    );
    assert_eq!(run.str_at("/facts/sum_text"), "The sum of 2 and 3 is 5.");
    // The legacy TS server refuses the modern probe with -32601; the SDK falls back at once.
    assert_eq!(
        run.summary["wire"]["discover"]["error_code"],
        -32601,
        "{}",
        run.report()
    );
    assert_eq!(run.str_at("/wire/discover/next_method"), "initialize");
    let methods = run.strs_at("/wire/client_methods");
    assert_eq!(
        methods[..3],
        ["server/discover", "initialize", "notifications/initialized"]
    );
}

#[test]
fn direct_time_negotiates_modern_in_auto_mode() {
    let Some(anchors) = Anchors::require("direct_time_negotiates_modern_in_auto_mode") else {
        return;
    };
    let run = anchors.run("direct-time", "auto", &anchors.time_command());
    run.assert_passed(&["tools_listed", "time", "ping"]);
    // The dual-era server answers the probe, so the session is stateless 2026-07-28.
    assert_eq!(
        run.str_at("/protocol_version"),
        "2026-07-28",
        "{}",
        run.report()
    );
    assert!(
        run.summary["wire"]["discover"]["result_keys"].is_array(),
        "{}",
        run.report()
    );
    assert_eq!(run.str_at("/facts/time/timezone"), "UTC");
    assert!(
        !run.strs_at("/wire/client_methods").contains(&"initialize"),
        "{}",
        run.report()
    );
}

#[test]
fn direct_time_uses_initialize_in_legacy_mode() {
    let Some(anchors) = Anchors::require("direct_time_uses_initialize_in_legacy_mode") else {
        return;
    };
    let run = anchors.run("direct-time", "legacy", &anchors.time_command());
    run.assert_passed(&["tools_listed", "time", "ping"]);
    assert_eq!(
        run.str_at("/protocol_version"),
        "2025-11-25",
        "{}",
        run.report()
    );
    assert_eq!(run.str_at("/facts/ping"), "ok");
    assert!(
        run.summary["wire"]["discover"].is_null(),
        "{}",
        run.report()
    );
    assert_eq!(run.strs_at("/wire/client_methods")[0], "initialize");
}

#[test]
fn direct_sampling_round_trips_through_the_client_callback() {
    let Some(anchors) = Anchors::require("direct_sampling_round_trips_through_the_client_callback")
    else {
        return;
    };
    let run = anchors.run("direct-sampling", "auto", &anchors.everything_command());
    run.assert_passed(&["sampling"]);
    assert!(
        run.str_at("/facts/sampling_text")
            .contains("gatekit-sampled"),
        "{}",
        run.report()
    );
    assert_eq!(
        run.strs_at("/facts/sampling_prompt"),
        ["Resource trigger-sampling-request context: hi"]
    );
    assert_eq!(
        run.strs_at("/wire/server_requests"),
        ["sampling/createMessage"]
    );
}

#[test]
fn direct_prompts_and_resources() {
    let Some(anchors) = Anchors::require("direct_prompts_and_resources") else {
        return;
    };
    let run = anchors.run(
        "direct-prompts-resources",
        "auto",
        &anchors.everything_command(),
    );
    run.assert_passed(&["prompt", "resources"]);
    assert!(
        run.strs_at("/facts/prompts").contains(&"simple-prompt"),
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
    assert_eq!(
        run.str_at("/facts/read_uri"),
        "demo://resource/static/document/features.md"
    );
}

#[test]
fn gateway_scenario_fails_against_an_unprefixed_server() {
    let Some(anchors) = Anchors::require("gateway_scenario_fails_against_an_unprefixed_server")
    else {
        return;
    };
    // The gateway checks must not pass vacuously: real server names lack the prefixes.
    let run = anchors.run("gateway-basic", "auto", &anchors.everything_command());
    run.assert_failed_with("tools/list lacks ['everything__echo'");
}

#[test]
fn silent_server_fails_within_the_driver_deadline() {
    let Some(anchors) = Anchors::require("silent_server_fails_within_the_driver_deadline") else {
        return;
    };
    // A server that never answers: the driver must give up by itself and say so.
    let silent = ["sleep".to_string(), "300".to_string()];
    let run = anchors.run_with_deadline("direct-everything", "auto", "2", &silent);
    run.assert_failed_with("deadline of 2.0 s passed");
    assert_eq!(
        run.summary["wire"]["discover"]["answered"],
        false,
        "{}",
        run.report()
    );
}
