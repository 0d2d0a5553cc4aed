//! The MCP handshake before load: `initialize`, `notifications/initialized`, `tools/list`.
//!
//! Owns: the target's pipes until load starts — it writes each message, reads lines until the
//! answer with its `"gk-…"` id arrives, answers server→client requests meanwhile — and the
//! resolution of mix tool names against the list. Bytes read past the last answer stay in the
//! buffer for the reader.
//! Invariants: every wait is bounded by [`HANDSHAKE_TIMEOUT`]; pagination by
//! [`MAX_TOOL_PAGES`]; lines by [`MAX_LINE_BYTES`]. Nothing here is on the hot path, so plain
//! `serde_json::Value` is fine.

use std::time::Duration;

use bytes::BytesMut;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{ChildStdin, ChildStdout};

use crate::conn::MAX_LINE_BYTES;
use crate::verify::{answer_server_request, CONTROL_ID_PREFIX};

/// Longest wait for one handshake answer (a gateway may start its upstreams first).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);
/// Most `tools/list` pages followed.
const MAX_TOOL_PAGES: usize = 64;
/// The protocol revision announced in `initialize`.
pub const PROTOCOL_VERSION: &str = "2025-06-18";

/// Handshake failures.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// No answer in time.
    #[error("no answer to `{0}` within {HANDSHAKE_TIMEOUT:?}")]
    Timeout(&'static str),
    /// The target closed its output.
    #[error("the target closed its output during the handshake")]
    Closed,
    /// Writing or reading failed.
    #[error("`{0}`: {1}")]
    Io(&'static str, std::io::Error),
    /// A line exceeded the limit.
    #[error("an answer during the handshake exceeded {MAX_LINE_BYTES} bytes")]
    Oversized,
    /// The target answered with an error.
    #[error("`{0}` failed: {1}")]
    Rejected(&'static str, String),
    /// A mix tool is not listed.
    #[error("tool `{wanted}` not found in tools/list (listed: {listed})")]
    ToolNotFound {
        /// The mix tool.
        wanted: String,
        /// What the target lists (first few).
        listed: String,
    },
}

/// What the target said about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerInfo {
    /// `serverInfo.name`.
    pub name: String,
    /// `serverInfo.version`.
    pub version: String,
    /// Negotiated `protocolVersion`.
    pub protocol_version: String,
    /// Tool names from `tools/list`.
    pub tools: Vec<String>,
}

/// The target's pipes during the handshake.
#[derive(Debug)]
pub struct Pipes<'a> {
    /// Its stdin.
    pub stdin: &'a mut ChildStdin,
    /// Its stdout.
    pub stdout: &'a mut ChildStdout,
    /// Bytes read and not yet consumed (handed to the reader afterwards).
    pub buf: &'a mut BytesMut,
}

/// Runs the handshake.
pub async fn handshake(mut p: Pipes<'_>) -> Result<ServerInfo, HandshakeError> {
    let mut n = 0u32;
    let init = json!({
        "protocolVersion": PROTOCOL_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "gatekit-loadgen", "version": env!("CARGO_PKG_VERSION")},
    });
    let res = call(&mut p, &mut n, "initialize", Some(init)).await?;
    let mut info = ServerInfo {
        name: res["serverInfo"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        version: res["serverInfo"]["version"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        protocol_version: res["protocolVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        tools: Vec::new(),
    };
    write_line(
        p.stdin,
        "notifications/initialized",
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await?;
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_TOOL_PAGES {
        let params = cursor.as_ref().map(|c| json!({ "cursor": c }));
        let res = call(&mut p, &mut n, "tools/list", params).await?;
        if let Some(tools) = res["tools"].as_array() {
            info.tools.extend(
                tools
                    .iter()
                    .filter_map(|t| t["name"].as_str().map(str::to_string)),
            );
        }
        cursor = res["nextCursor"].as_str().map(str::to_string);
        if cursor.is_none() {
            break;
        }
    }
    Ok(info)
}

/// Resolves a mix tool name against the target's list: an explicit `prefix` is prepended; else
/// the exact name, else the single listed tool ending in `__NAME` (a gateway's namespace).
pub fn resolve_tool(
    wanted: &str,
    listed: &[String],
    prefix: Option<&str>,
) -> Result<String, HandshakeError> {
    let not_found = || HandshakeError::ToolNotFound {
        wanted: prefix.map_or_else(|| wanted.to_string(), |p| format!("{p}{wanted}")),
        listed: listed
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
    };
    if let Some(p) = prefix {
        let full = format!("{p}{wanted}");
        return if listed.contains(&full) {
            Ok(full)
        } else {
            Err(not_found())
        };
    }
    if listed.iter().any(|t| t == wanted) {
        return Ok(wanted.to_string());
    }
    let suffix = format!("__{wanted}");
    let mut candidates = listed.iter().filter(|t| t.ends_with(&suffix));
    match (candidates.next(), candidates.next()) {
        (Some(one), None) => Ok(one.clone()),
        _ => Err(not_found()),
    }
}

async fn call(
    p: &mut Pipes<'_>,
    n: &mut u32,
    method: &'static str,
    params: Option<Value>,
) -> Result<Value, HandshakeError> {
    *n += 1;
    let id = Value::String(format!("{CONTROL_ID_PREFIX}{n}"));
    let mut msg = json!({"jsonrpc": "2.0", "id": id, "method": method});
    if let Some(params) = params {
        msg["params"] = params;
    }
    write_line(p.stdin, method, &msg).await?;
    let wait = async {
        loop {
            while let Some(i) = memchr::memchr(b'\n', p.buf) {
                let line = p.buf.split_to(i + 1);
                let Ok(v) = serde_json::from_slice::<Value>(&line) else {
                    continue;
                };
                match (v.get("id"), v.get("method").and_then(Value::as_str)) {
                    (Some(rid), Some(m)) => {
                        // A server→client request before load starts: answer it now.
                        let Ok(raw) = serde_json::value::to_raw_value(rid) else {
                            continue;
                        };
                        let mut out = Vec::new();
                        answer_server_request(&mut out, &raw, m);
                        p.stdin
                            .write_all(&out)
                            .await
                            .map_err(|e| HandshakeError::Io(method, e))?;
                    }
                    (Some(rid), None) if *rid == id => {
                        if let Some(e) = v.get("error") {
                            return Err(HandshakeError::Rejected(method, e.to_string()));
                        }
                        return Ok(v.get("result").cloned().unwrap_or(Value::Null));
                    }
                    _ => {}
                }
            }
            if p.buf.len() > MAX_LINE_BYTES {
                return Err(HandshakeError::Oversized);
            }
            p.buf.reserve(64 * 1024);
            match p.stdout.read_buf(p.buf).await {
                Ok(0) => return Err(HandshakeError::Closed),
                Ok(_) => {}
                Err(e) => return Err(HandshakeError::Io(method, e)),
            }
        }
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, wait).await {
        Ok(r) => r,
        Err(_) => Err(HandshakeError::Timeout(method)),
    }
}

async fn write_line(
    stdin: &mut ChildStdin,
    what: &'static str,
    msg: &Value,
) -> Result<(), HandshakeError> {
    let mut bytes = msg.to_string().into_bytes();
    bytes.push(b'\n');
    stdin
        .write_all(&bytes)
        .await
        .map_err(|e| HandshakeError::Io(what, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_exact_prefixed_and_namespaced_tools() {
        let direct = vec!["echo".to_string(), "add".to_string()];
        let gw = vec!["mock__echo".to_string(), "other__add".to_string()];
        assert_eq!(resolve_tool("echo", &direct, None).unwrap(), "echo");
        assert_eq!(resolve_tool("echo", &gw, None).unwrap(), "mock__echo");
        assert_eq!(
            resolve_tool("echo", &gw, Some("mock__")).unwrap(),
            "mock__echo"
        );
        assert!(resolve_tool("echo", &gw, Some("x__")).is_err());
        let ambiguous = vec!["a__echo".to_string(), "b__echo".to_string()];
        let err = resolve_tool("echo", &ambiguous, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("a__echo, b__echo"), "{err}");
    }
}
