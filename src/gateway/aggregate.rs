//! Fan-out methods: the four `*/list` methods and `logging/setLevel`.
//!
//! Lists go to every ready upstream that has the capability, concurrently; each upstream's pages
//! are followed to the end (bounded), names and URIs get their `server__` prefix, and the merged
//! result is one page (the gateway hands out no cursors). A failing upstream leaves the rest of the
//! answer intact and is reported under `_meta` key [`ERRORS_META_KEY`] of the result — never as a
//! new top-level field.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{json, Map, Value};
use tokio::task::JoinSet;

use super::namespace;
use super::route::{describe, internal_request, parse_response};
use super::state::{Reply, Shared, Upstream};
use crate::framing::writer::OutFrame;
use crate::jsonrpc::envelope::Envelope;
use crate::jsonrpc::error::{code, error_frame, result_frame};

/// `_meta` key listing the upstreams that failed to contribute to a fan-out result.
pub const ERRORS_META_KEY: &str = "gatekit/errors";
/// Most pages followed per upstream per list request (guards against a cursor loop).
pub const MAX_PAGES: usize = 100;

/// The shape of one list method.
#[derive(Debug, Clone, Copy)]
struct ListKind {
    method: &'static str,
    items: &'static str,
    field: &'static str,
    capability: &'static str,
}

fn list_kind(method: &str) -> Option<ListKind> {
    let k = |method, items, field, capability| {
        Some(ListKind {
            method,
            items,
            field,
            capability,
        })
    };
    match method {
        "tools/list" => k("tools/list", "tools", "name", "tools"),
        "prompts/list" => k("prompts/list", "prompts", "name", "prompts"),
        "resources/list" => k("resources/list", "resources", "uri", "resources"),
        "resources/templates/list" => k(
            "resources/templates/list",
            "resourceTemplates",
            "uriTemplate",
            "resources",
        ),
        _ => None,
    }
}

/// One upstream's failure to contribute.
type UpstreamError = (String, String);

/// Answers a `*/list` request from a task of its own (fan-outs wait on several upstreams).
pub fn spawn_list(shared: &Arc<Shared>, frame: &Bytes, env: &Envelope<'_>, reply: Reply) {
    let Some(id_span) = env.id else { return };
    let id = Bytes::copy_from_slice(id_span.of(frame));
    let Some(kind) = env.method.as_deref().and_then(list_kind) else {
        return;
    };
    let has_cursor = env
        .params
        .and_then(|s| serde_json::from_slice::<Value>(s.of(frame)).ok())
        .is_some_and(|p| p.get("cursor").is_some_and(|c| !c.is_null()));
    let shared2 = shared.clone();
    shared.tracker.spawn(async move {
        let out = if has_cursor {
            // The gateway returns complete lists and never hands out a cursor.
            error_frame(
                Some(&id),
                code::INVALID_PARAMS,
                "Invalid params: unknown cursor",
                None,
            )
        } else {
            let result = list_all(&shared2, kind).await;
            result_frame(&id, result.to_string().as_bytes())
        };
        shared2.deliver(&reply, OutFrame::One(out)).await;
    });
}

async fn list_all(shared: &Arc<Shared>, kind: ListKind) -> Value {
    let mut errors: Vec<UpstreamError> = Vec::new();
    let mut set = JoinSet::new();
    for up in &shared.upstreams {
        if !up.is_ready() {
            errors.push((
                up.name().to_owned(),
                format!("unavailable: {}", up.unavailable_reason()),
            ));
            continue;
        }
        if !up.info().is_some_and(|i| i.has(kind.capability)) {
            continue;
        }
        let (shared, up) = (shared.clone(), up.clone());
        set.spawn(async move {
            let r = fetch_pages(&shared, &up, kind).await;
            (up.idx, r)
        });
    }
    let mut per_upstream: Vec<(usize, Vec<Value>)> = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((idx, Ok(items))) => per_upstream.push((idx, items)),
            Ok((idx, Err(e))) => errors.push((shared.upstreams[idx].name().to_owned(), e)),
            Err(e) => tracing::error!("list fan-out task failed: {e}"),
        }
    }
    // Config order, then each upstream's own order: deterministic.
    per_upstream.sort_by_key(|(idx, _)| *idx);
    let mut merged = Vec::new();
    for (idx, items) in per_upstream {
        let name = shared.upstreams[idx].name();
        for mut item in items {
            if let Some(Value::String(s)) = item.get_mut(kind.field) {
                *s = namespace::join(name, s);
            }
            merged.push(item);
        }
    }
    let mut result = Map::new();
    result.insert(kind.items.to_owned(), Value::Array(merged));
    attach_errors(&mut result, errors);
    Value::Object(result)
}

fn attach_errors(result: &mut Map<String, Value>, mut errors: Vec<UpstreamError>) {
    if errors.is_empty() {
        return;
    }
    errors.sort();
    let list: Vec<Value> = errors
        .into_iter()
        .map(|(server, error)| json!({ "server": server, "error": error }))
        .collect();
    result.insert("_meta".to_owned(), json!({ ERRORS_META_KEY: list }));
}

async fn fetch_pages(shared: &Shared, up: &Upstream, kind: ListKind) -> Result<Vec<Value>, String> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let params = cursor.as_ref().map(|c| json!({ "cursor": c }).to_string());
        let frame = internal_request(
            shared,
            up,
            kind.method,
            params.as_deref().map(str::as_bytes),
            up.timeout,
        )
        .await
        .map_err(|f| describe(&f))?;
        let raw = parse_response(&frame).map_err(|(code, msg)| format!("error {code}: {msg}"))?;
        let mut page: Value =
            serde_json::from_str(raw.get()).map_err(|e| format!("unreadable result: {e}"))?;
        match page.get_mut(kind.items).map(Value::take) {
            Some(Value::Array(v)) => items.extend(v),
            _ => return Err(format!("result has no '{}' array", kind.items)),
        }
        match page.get("nextCursor").and_then(Value::as_str) {
            Some(next) if !next.is_empty() => cursor = Some(next.to_owned()),
            _ => return Ok(items),
        }
    }
    Err(format!("more than {MAX_PAGES} pages"))
}

/// `logging/setLevel`: sent to every ready upstream that has `logging`; answered `{}` once all
/// answered (failures listed under `_meta`), or with the upstreams' error when every one refused.
pub fn spawn_set_level(shared: &Arc<Shared>, frame: &Bytes, env: &Envelope<'_>, reply: Reply) {
    let Some(id_span) = env.id else { return };
    let id = Bytes::copy_from_slice(id_span.of(frame));
    let params = env.params.map(|s| Bytes::copy_from_slice(s.of(frame)));
    let shared2 = shared.clone();
    shared.tracker.spawn(async move {
        let mut set = JoinSet::new();
        for up in shared2
            .upstreams
            .iter()
            .filter(|u| u.is_ready() && u.info().is_some_and(|i| i.has("logging")))
        {
            let (shared, up, params) = (shared2.clone(), up.clone(), params.clone());
            set.spawn(async move {
                let r = internal_request(
                    &shared,
                    &up,
                    "logging/setLevel",
                    params.as_deref(),
                    up.timeout,
                )
                .await;
                let r = match r {
                    Ok(frame) => parse_response(&frame)
                        .map(|_| ())
                        .map_err(|(c, m)| (Some(c), m)),
                    Err(f) => Err((None, describe(&f))),
                };
                (up.name().to_owned(), r)
            });
        }
        let (mut ok, mut errors, mut rpc_error) = (0usize, Vec::new(), None);
        while let Some(Ok((name, r))) = set.join_next().await {
            match r {
                Ok(()) => ok += 1,
                Err((c, m)) => {
                    if let Some(c) = c {
                        rpc_error.get_or_insert((c, m.clone()));
                    }
                    errors.push((name, m));
                }
            }
        }
        let out = match (ok, rpc_error) {
            (0, Some((c, m))) => error_frame(Some(&id), c, &m, None),
            _ => {
                let mut result = Map::new();
                attach_errors(&mut result, errors);
                result_frame(&id, Value::Object(result).to_string().as_bytes())
            }
        };
        shared2.deliver(&reply, OutFrame::One(out)).await;
    });
}
