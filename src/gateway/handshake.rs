//! The MCP handshake on both sides of the gateway.
//!
//! Client side: the gateway answers `initialize` itself — it negotiates the version like a server
//! (echoes the client's version when it supports it, else offers its latest), states its own
//! `serverInfo`, and advertises the union of its upstreams' capabilities. Upstream side: each
//! incarnation is initialized once, with the client's negotiated version, capabilities (roots,
//! sampling, elicitation, …) and clientInfo, so servers enable the matching features; it gets
//! `notifications/initialized` when the client sends its own.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use super::route::{describe, internal_request, parse_response};
use super::state::{ClientSession, Failure, Reply, Shared, UpState, UpstreamInfo};
use crate::framing::writer::OutFrame;
use crate::jsonrpc::error::{code, error_frame, result_frame};

/// Handshake protocol versions the gateway speaks, oldest first.
pub const SUPPORTED_VERSIONS: [&str; 4] = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];
/// The version offered when the client asks for one the gateway does not know.
pub const LATEST_VERSION: &str = "2025-11-25";
/// Extra time the client's `initialize` waits beyond `connection_timeout` for upstreams to settle.
const INIT_SLACK: Duration = Duration::from_millis(500);

/// The version the gateway answers to a client that asked for `requested`.
pub fn negotiate(requested: &str) -> &'static str {
    SUPPORTED_VERSIONS
        .iter()
        .find(|v| **v == requested)
        .copied()
        .unwrap_or(LATEST_VERSION)
}

#[derive(Deserialize)]
struct InitParams<'a> {
    #[serde(rename = "protocolVersion")]
    protocol_version: Option<String>,
    #[serde(borrow)]
    capabilities: Option<&'a RawValue>,
    #[serde(rename = "clientInfo", borrow)]
    client_info: Option<&'a RawValue>,
}

/// Records the client's session from its `initialize` params. Runs on the client reader itself,
/// before anything else is read, so requests pipelined behind `initialize` see the session.
/// Returns the error frame to answer with when the session cannot be recorded.
pub fn record_session(shared: &Shared, id: &[u8], params: Option<&[u8]>) -> Result<(), Bytes> {
    if shared.session.borrow().is_some() {
        let msg = "Invalid Request: initialize was already received";
        return Err(error_frame(Some(id), code::INVALID_REQUEST, msg, None));
    }
    let parsed: InitParams<'_> = serde_json::from_slice(params.unwrap_or(b"{}")).map_err(|e| {
        let msg = format!("Invalid params: initialize params are malformed: {e}");
        error_frame(Some(id), code::INVALID_PARAMS, &msg, None)
    })?;
    let version = negotiate(parsed.protocol_version.as_deref().unwrap_or(LATEST_VERSION));
    let caps: Value = parsed
        .capabilities
        .and_then(|c| serde_json::from_str(c.get()).ok())
        .unwrap_or(json!({}));
    let has = |k: &str| caps.get(k).is_some_and(|v| !v.is_null());
    let client_info = parsed
        .client_info
        .map(|c| c.get())
        .unwrap_or(r#"{"name":"gatekit","version":"0"}"#);
    let upstream_params = format!(
        r#"{{"protocolVersion":{},"capabilities":{},"clientInfo":{}}}"#,
        Value::String(version.to_owned()),
        parsed.capabilities.map(|c| c.get()).unwrap_or("{}"),
        client_info
    );
    let session = ClientSession {
        protocol_version: version.to_owned(),
        upstream_init_params: Bytes::from(upstream_params),
        roots: has("roots"),
        sampling: has("sampling"),
        elicitation: has("elicitation"),
    };
    shared.session.send_replace(Some(Arc::new(session)));
    Ok(())
}

/// Answers the client's `initialize` once the upstreams finished their own handshakes (bounded by
/// `connection_timeout`). Runs as its own task so the client's pings are answered meanwhile.
pub async fn answer_initialize(shared: Arc<Shared>, id: Bytes, reply: Reply) {
    let Some(session) = shared.session.borrow().clone() else {
        return;
    };
    let version = negotiate(&session.protocol_version);
    // Wait until every upstream is ready or failed, bounded.
    let settle = async {
        for up in &shared.upstreams {
            let mut rx = up.state.subscribe();
            let _ = rx
                .wait_for(|s| matches!(s, UpState::Ready | UpState::Failed(_)))
                .await;
        }
    };
    let _ = tokio::time::timeout(shared.connection_timeout + INIT_SLACK, settle).await;

    let ready: Vec<_> = shared.upstreams.iter().filter(|u| u.is_ready()).collect();
    if ready.is_empty() && !shared.upstreams.is_empty() {
        let details: Vec<String> = shared
            .upstreams
            .iter()
            .map(|u| format!("{}: {}", u.name(), u.unavailable_reason()))
            .collect();
        let msg = "Gatekit startup failed: no upstream server could be initialized";
        let data = json!({ "error_type": "upstream_unavailable", "details": details.join("; ") });
        let f = error_frame(Some(&id), code::INTERNAL_ERROR, msg, Some(&data));
        shared.deliver(&reply, OutFrame::One(f)).await;
        tracing::error!("{msg}: {}", details.join("; "));
        shared.fatal.cancel();
        shared.init_done.send_replace(true);
        return;
    }
    let infos: Vec<_> = ready
        .iter()
        .filter_map(|u| u.info().map(|i| (u.name().to_owned(), i)))
        .collect();
    let result = initialize_result(version, &infos);
    let f = result_frame(&id, result.to_string().as_bytes());
    shared.deliver(&reply, OutFrame::One(f)).await;
    shared.init_done.send_replace(true);
}

/// The gateway's `initialize` result: its own identity and the union of upstream capabilities.
pub fn initialize_result(version: &str, upstreams: &[(String, Arc<UpstreamInfo>)]) -> Value {
    let any = |cap: &str| upstreams.iter().any(|(_, i)| i.has(cap));
    let mut caps = Map::new();
    // Always: the gateway itself emits tools/list_changed after an upstream restarts.
    caps.insert("tools".into(), json!({ "listChanged": true }));
    if any("prompts") {
        caps.insert("prompts".into(), json!({ "listChanged": true }));
    }
    if any("resources") {
        let subscribe = upstreams.iter().any(|(_, i)| {
            i.capabilities
                .pointer("/resources/subscribe")
                .and_then(Value::as_bool)
                == Some(true)
        });
        caps.insert(
            "resources".into(),
            json!({ "subscribe": subscribe, "listChanged": true }),
        );
    }
    if any("logging") {
        caps.insert("logging".into(), json!({}));
    }
    if any("completions") {
        caps.insert("completions".into(), json!({}));
    }
    let mut result = json!({
        "protocolVersion": version,
        "capabilities": caps,
        "serverInfo": { "name": "gatekit", "title": "gatekit MCP gateway", "version": env!("CARGO_PKG_VERSION") },
    });
    let instructions: Vec<String> = upstreams
        .iter()
        .filter_map(|(name, i)| i.instructions.as_ref().map(|t| format!("[{name}] {t}")))
        .collect();
    if !instructions.is_empty() {
        result["instructions"] = Value::String(instructions.join("\n\n"));
    }
    result
}

/// Initializes one upstream incarnation with the client's session; waits for the session first.
pub async fn initialize_upstream(
    shared: &Shared,
    up: &super::state::Upstream,
) -> Result<UpstreamInfo, String> {
    let mut rx = shared.session.subscribe();
    let session = match rx.wait_for(|s| s.is_some()).await {
        Ok(s) => s.clone(),
        Err(_) => return Err("gateway shutting down".to_owned()),
    };
    let Some(session) = session else {
        return Err("no session".to_owned());
    };
    let timeout = shared.connection_timeout;
    let frame = internal_request(
        shared,
        up,
        "initialize",
        Some(&session.upstream_init_params),
        timeout,
    )
    .await
    .map_err(|f| match f {
        Failure::Timeout(_) => describe(&Failure::Timeout(timeout)),
        other => describe(&other),
    })?;
    let result = parse_response(&frame).map_err(|(code, msg)| format!("error {code}: {msg}"))?;
    let v: Value = serde_json::from_str(result.get())
        .map_err(|e| format!("unreadable initialize result: {e}"))?;
    Ok(UpstreamInfo {
        capabilities: v.get("capabilities").cloned().unwrap_or(json!({})),
        instructions: v
            .get("instructions")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_echoes_known_versions_and_offers_latest_otherwise() {
        assert_eq!(negotiate("2025-03-26"), "2025-03-26");
        assert_eq!(negotiate("2024-11-05"), "2024-11-05");
        assert_eq!(negotiate("2026-07-28"), LATEST_VERSION);
        assert_eq!(negotiate("bogus"), LATEST_VERSION);
    }

    #[test]
    fn capabilities_are_the_union_of_upstreams() {
        let a = Arc::new(UpstreamInfo {
            capabilities: json!({"tools": {}, "logging": {}}),
            instructions: Some("use a".into()),
        });
        let b = Arc::new(UpstreamInfo {
            capabilities: json!({"resources": {"subscribe": true}, "prompts": {}}),
            instructions: None,
        });
        let r = initialize_result("2025-06-18", &[("a".into(), a), ("b".into(), b)]);
        assert_eq!(r["protocolVersion"], "2025-06-18");
        assert_eq!(r["serverInfo"]["name"], "gatekit");
        assert_eq!(r["capabilities"]["tools"]["listChanged"], true);
        assert_eq!(r["capabilities"]["resources"]["subscribe"], true);
        assert!(r["capabilities"].get("prompts").is_some());
        assert!(r["capabilities"].get("logging").is_some());
        assert!(r["capabilities"].get("completions").is_none());
        assert_eq!(r["instructions"], "[a] use a");
    }
}
