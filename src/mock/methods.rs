//! Answers to every request except `tools/call` (see [`super::tools`]): lifecycle, lists with
//! pagination, prompts, resources, completion, logging.
//!
//! Invariants: these answers are immediate (service time applies to tools/call only); a second
//! `initialize` is an error and is counted; unknown methods, including the 2026 `server/discover`
//! probe, get -32601 so a modern client falls back to the legacy handshake.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::catalog::{Pages, ITEM_PREFIX, PROMPTS, STATIC_PREFIX};
use super::session::{ClientCaps, Session};
use super::stats::Stats;
use super::wire::{self, ListParams};

/// Protocol versions this mock speaks, oldest first; the last is the default answer.
pub const SUPPORTED_VERSIONS: &[&str] = &["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

/// Levels accepted by `logging/setLevel`.
const LOG_LEVELS: &[&str] = &[
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
];

#[derive(Debug, Default, Deserialize)]
struct InitParams<'a> {
    #[serde(borrow, default, rename = "protocolVersion")]
    protocol_version: Option<Cow<'a, str>>,
    #[serde(default)]
    capabilities: Option<CapsParams>,
}

#[derive(Debug, Default, Deserialize)]
struct CapsParams {
    #[serde(default)]
    sampling: Option<IgnoredAny>,
    #[serde(default)]
    elicitation: Option<IgnoredAny>,
    #[serde(default)]
    roots: Option<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
struct UriParams {
    #[serde(default)]
    uri: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct PromptParams {
    #[serde(default)]
    name: String,
    #[serde(default)]
    arguments: HashMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct CompleteParams<'a> {
    #[serde(borrow, default)]
    argument: Option<CompleteArg<'a>>,
}

#[derive(Debug, Default, Deserialize)]
struct CompleteArg<'a> {
    #[serde(borrow, default)]
    value: Cow<'a, str>,
}

#[derive(Debug, Default, Deserialize)]
struct LevelParams {
    #[serde(default)]
    level: String,
}

/// `initialize` result, with `version` negotiated.
fn init_result(name: &str, version: &str) -> String {
    format!(
        concat!(
            r#"{{"protocolVersion":"{v}","capabilities":{{"tools":{{"listChanged":true}},"#,
            r#""prompts":{{"listChanged":true}},"resources":{{"subscribe":true,"listChanged":true}},"#,
            r#""logging":{{}},"completions":{{}}}},"serverInfo":{{"name":{n},"version":"{ver}"}},"#,
            r#""instructions":"gatekit-mock: a behaviour-driven test server; see --help for its tools."}}"#
        ),
        v = version,
        n = wire::quoted(name),
        ver = env!("CARGO_PKG_VERSION"),
    )
}

/// The version to answer: the client's if we speak it, else our latest.
pub fn negotiate(requested: Option<&str>) -> &'static str {
    requested
        .and_then(|r| SUPPORTED_VERSIONS.iter().find(|v| **v == r).copied())
        .unwrap_or(SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.len() - 1])
}

impl Session {
    /// Dispatches one request by method.
    pub(crate) fn handle_request(
        &mut self,
        method: &str,
        id: &RawValue,
        params: Option<&RawValue>,
    ) {
        let idb = id.get().as_bytes();
        match method {
            "tools/call" => self.handle_call(id, params),
            "initialize" => self.initialize(idb, params),
            "ping" | "resources/subscribe" | "resources/unsubscribe" => {
                self.answer(idb, b"{}");
            }
            "tools/list" => self.list(idb, params, |b| &b.catalog.tools),
            "prompts/list" => self.list(idb, params, |b| &b.catalog.prompts),
            "resources/list" => self.list(idb, params, |b| &b.catalog.resources),
            "resources/templates/list" => self.list(idb, params, |b| &b.catalog.templates),
            "prompts/get" => self.get_prompt(idb, params),
            "resources/read" => self.read_resource(idb, params),
            "completion/complete" => match wire::params::<CompleteParams<'_>>(params) {
                Ok(p) => {
                    let v = p.argument.unwrap_or_default().value;
                    let body = format!(
                        r#"{{"completion":{{"values":[{},{}],"total":2,"hasMore":false}}}}"#,
                        wire::quoted(&format!("{v}-1")),
                        wire::quoted(&format!("{v}-2"))
                    );
                    self.answer(idb, body.as_bytes());
                }
                Err(e) => self.fail(idb, wire::INVALID_PARAMS, &e),
            },
            "logging/setLevel" => match wire::params::<LevelParams>(params) {
                Ok(p) if LOG_LEVELS.contains(&p.level.as_str()) => self.answer(idb, b"{}"),
                Ok(p) => self.fail(
                    idb,
                    wire::INVALID_PARAMS,
                    &format!("invalid log level `{}`", p.level),
                ),
                Err(e) => self.fail(idb, wire::INVALID_PARAMS, &e),
            },
            // The 2026 probe: a legacy server answers "method not found" so clients fall back.
            "server/discover" => self.fail(
                idb,
                wire::METHOD_NOT_FOUND,
                "Method not found: server/discover",
            ),
            other => {
                let msg = format!("Method not found: {other}");
                self.fail(idb, wire::METHOD_NOT_FOUND, &msg);
            }
        }
    }

    /// Writes a result frame now.
    pub(crate) fn answer(&mut self, id: &[u8], body: &[u8]) {
        Stats::bump(&self.b.stats.answers);
        wire::result(&mut self.out, id, body);
    }

    /// Writes an error frame now.
    pub(crate) fn fail(&mut self, id: &[u8], code: i32, message: &str) {
        Stats::bump(&self.b.stats.answers);
        wire::error(&mut self.out, id, code, message);
    }

    fn initialize(&mut self, id: &[u8], params: Option<&RawValue>) {
        if self.initialized {
            Stats::bump(&self.b.stats.double_inits);
            tracing::warn!("second initialize on one session");
            return self.fail(id, wire::INVALID_REQUEST, "already initialized");
        }
        let p = match wire::params::<InitParams<'_>>(params) {
            Ok(p) => p,
            Err(e) => return self.fail(id, wire::INVALID_PARAMS, &e),
        };
        self.initialized = true;
        if let Some(c) = p.capabilities {
            self.caps = ClientCaps {
                sampling: c.sampling.is_some(),
                elicitation: c.elicitation.is_some(),
                roots: c.roots.is_some(),
            };
        }
        let body = init_result(&self.b.args.name, negotiate(p.protocol_version.as_deref()));
        self.answer(id, body.as_bytes());
    }

    fn list(
        &mut self,
        id: &[u8],
        params: Option<&RawValue>,
        pages: fn(&super::Behaviour) -> &Pages,
    ) {
        let cursor = match wire::params::<ListParams<'_>>(params) {
            Ok(p) => p.cursor,
            Err(e) => return self.fail(id, wire::INVALID_PARAMS, &e),
        };
        let b = self.b.clone();
        match pages(&b).page(cursor.as_deref()) {
            Some(page) => self.answer(id, page),
            None => self.fail(id, wire::INVALID_PARAMS, "Invalid cursor"),
        }
    }

    fn get_prompt(&mut self, id: &[u8], params: Option<&RawValue>) {
        let p = match wire::params::<PromptParams>(params) {
            Ok(p) => p,
            Err(e) => return self.fail(id, wire::INVALID_PARAMS, &e),
        };
        let Some((name, description, args)) = PROMPTS.iter().find(|(n, _, _)| *n == p.name) else {
            return self.fail(
                id,
                wire::INVALID_PARAMS,
                &format!("Unknown prompt: {}", p.name),
            );
        };
        if let Some((missing, _)) = args
            .iter()
            .find(|(a, req)| *req && !p.arguments.contains_key(*a))
        {
            return self.fail(
                id,
                wire::INVALID_PARAMS,
                &format!("Missing required argument: {missing}"),
            );
        }
        let text = match *name {
            "greeting" => format!(
                "Hello, {}!",
                p.arguments.get("name").map_or("", String::as_str)
            ),
            "summarize" => format!(
                "Summarize this{}: {}",
                p.arguments
                    .get("style")
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default(),
                p.arguments.get("text").map_or("", String::as_str)
            ),
            _ => "This is a simple prompt.".to_owned(),
        };
        let body = format!(
            r#"{{"description":{},"messages":[{{"role":"user","content":{{"type":"text","text":{}}}}}]}}"#,
            wire::quoted(description),
            wire::quoted(&text)
        );
        self.answer(id, body.as_bytes());
    }

    fn read_resource(&mut self, id: &[u8], params: Option<&RawValue>) {
        let uri = match wire::params::<UriParams>(params) {
            Ok(UriParams { uri: Some(uri) }) => uri,
            Ok(_) => return self.fail(id, wire::INVALID_PARAMS, "missing uri"),
            Err(e) => return self.fail(id, wire::INVALID_PARAMS, &e),
        };
        let text = if let Some(n) = uri.strip_prefix(STATIC_PREFIX) {
            n.parse::<usize>()
                .ok()
                .filter(|n| *n < self.b.catalog.static_resources)
                .map(|n| format!("static resource {n}"))
        } else {
            uri.strip_prefix(ITEM_PREFIX)
                .filter(|item| !item.is_empty())
                .map(|item| format!("item {item}"))
        };
        match text {
            Some(text) => {
                let mut body = String::new();
                let _ = write!(
                    body,
                    r#"{{"contents":[{{"uri":{},"mimeType":"text/plain","text":{}}}]}}"#,
                    wire::quoted(&uri),
                    wire::quoted(&text)
                );
                self.answer(id, body.as_bytes());
            }
            None => self.fail(
                id,
                wire::RESOURCE_NOT_FOUND,
                &format!("Resource not found: {uri}"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_echoes_known_versions_else_latest() {
        assert_eq!(negotiate(Some("2024-11-05")), "2024-11-05");
        assert_eq!(negotiate(Some("2025-06-18")), "2025-06-18");
        assert_eq!(negotiate(Some("2026-07-28")), "2025-11-25");
        assert_eq!(negotiate(Some("garbage")), "2025-11-25");
        assert_eq!(negotiate(None), "2025-11-25");
    }

    #[test]
    fn init_result_is_json_with_capabilities() {
        let v: serde_json::Value =
            serde_json::from_str(&init_result("n\"x", "2025-06-18")).expect("json");
        assert_eq!(v["protocolVersion"], "2025-06-18");
        assert_eq!(v["serverInfo"]["name"], "n\"x");
        assert_eq!(v["capabilities"]["resources"]["subscribe"], true);
        assert_eq!(v["capabilities"]["tools"]["listChanged"], true);
        assert!(v["capabilities"]["completions"].is_object());
    }
}
