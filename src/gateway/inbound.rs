//! Messages arriving from an upstream: responses, server→client requests, notifications, garbage.
//!
//! Nothing an upstream writes reaches the client unless it is a well-formed JSON-RPC message that
//! belongs to this session: responses must match a pending upstream id, progress must match a
//! pending request that asked for it, and everything unreadable is counted and dropped.

use std::sync::Arc;

use bytes::Bytes;

use super::namespace;
use super::route::complete;
use super::state::{Failure, ServerRequest, Shared, Upstream};
use super::stats::Stats;
use crate::correlation::Key;
use crate::framing::writer::OutFrame;
use crate::jsonrpc::envelope::{recover_id, scan, split_batch, Envelope, Kind, ScanError};
use crate::jsonrpc::error::{code, error_frame};
use crate::jsonrpc::id::{json_string, parse_u64_id, splice, u64_id_bytes};

/// Handles one line from `up`.
pub async fn on_line(shared: &Arc<Shared>, up: &Arc<Upstream>, line: Bytes) {
    match scan(&line) {
        Ok(env) => on_message(shared, up, &line, env).await,
        Err(ScanError::Batch) => match split_batch(&line) {
            Ok(items) => {
                for item in items {
                    match scan(&item) {
                        Ok(env) => on_message(shared, up, &item, env).await,
                        Err(e) => garbage(shared, up, &item, &e).await,
                    }
                }
            }
            Err(e) => garbage(shared, up, &line, &e).await,
        },
        Err(e) => garbage(shared, up, &line, &e).await,
    }
}

/// A line that is not JSON-RPC never reaches the client. If it still looks like a response to a
/// request of ours, that request fails now with a clear error instead of waiting for its timeout.
async fn garbage(shared: &Arc<Shared>, up: &Arc<Upstream>, line: &[u8], e: &ScanError) {
    Stats::bump(&shared.stats.upstream_garbage);
    tracing::debug!(
        upstream = up.name(),
        "dropped a line that is not JSON-RPC: {e}"
    );
    let head = &line[..line.len().min(crate::framing::codec::OVERSIZE_PREFIX_BYTES)];
    fail_recovered(shared, up, head, Failure::Invalid(e.to_string())).await;
}

/// An upstream line over the limit: if it was a response we can attribute, its request fails now
/// with a clear error instead of timing out later.
pub async fn on_oversize(shared: &Arc<Shared>, up: &Arc<Upstream>, prefix: &[u8], len: usize) {
    Stats::bump(&shared.stats.upstream_oversize);
    let limit = shared.max_message_bytes;
    tracing::warn!(
        upstream = up.name(),
        len,
        limit,
        "discarded an oversize upstream line"
    );
    fail_recovered(shared, up, prefix, Failure::Oversize(len)).await;
}

/// Fails the pending request whose upstream id can be read from the head of a discarded
/// response, if there is one.
async fn fail_recovered(shared: &Shared, up: &Upstream, head: &[u8], why: Failure) {
    let rec = recover_id(head);
    if !rec.has_result_or_error || rec.has_method {
        return;
    }
    let key = rec
        .id
        .and_then(|s| parse_u64_id(s.of(head)))
        .and_then(Key::from_u64);
    if let Some(p) = key.and_then(|k| up.take(k)) {
        super::route::fail(shared, up, p, why).await;
    }
}

async fn on_message(shared: &Arc<Shared>, up: &Arc<Upstream>, frame: &Bytes, env: Envelope<'_>) {
    match env.kind {
        Kind::Response => {
            let key = env
                .id
                .and_then(|s| parse_u64_id(s.of(frame)))
                .and_then(Key::from_u64);
            match (key, env.id) {
                (Some(key), Some(span)) => complete(shared, up, key, frame.clone(), span).await,
                _ => {
                    Stats::bump(&shared.stats.upstream_unknown_responses);
                    tracing::debug!(
                        upstream = up.name(),
                        "dropped a response with an id the gateway never sent"
                    );
                }
            }
        }
        Kind::Request => server_request(shared, up, frame, &env).await,
        Kind::Notification => notification(shared, up, frame, &env).await,
    }
}

/// A server→client request: forwarded with a gateway-assigned id, or refused with -32601 when the
/// client did not declare the capability.
async fn server_request(
    shared: &Arc<Shared>,
    up: &Arc<Upstream>,
    frame: &Bytes,
    env: &Envelope<'_>,
) {
    let Some(id_span) = env.id else { return };
    let method = env.method.as_deref().unwrap_or_default();
    let upstream_id = Bytes::copy_from_slice(id_span.of(frame));
    let accepts = shared
        .session
        .borrow()
        .as_ref()
        .is_some_and(|s| s.accepts(method));
    let answer_upstream = |code: i64, msg: String| {
        let frame = error_frame(Some(&upstream_id), code, &msg, None);
        let link = up.link();
        async move {
            if let Some(tx) = link {
                let _ = tx.send(OutFrame::One(frame)).await;
            }
        }
    };
    if !accepts {
        Stats::bump(&shared.stats.server_requests_refused);
        answer_upstream(
            code::METHOD_NOT_FOUND,
            format!("Method not found: the client does not support {method}"),
        )
        .await;
        return;
    }
    let req = ServerRequest {
        upstream: up.idx,
        upstream_id: upstream_id.clone(),
    };
    let key = match shared
        .reverse
        .insert(req, shared.clock.deadline(up.timeout))
    {
        Ok(key) => key,
        Err(_) => {
            answer_upstream(
                code::INTERNAL_ERROR,
                "Too many server requests awaiting the client".to_owned(),
            )
            .await;
            return;
        }
    };
    let out = splice(frame, &mut [(id_span, u64_id_bytes(key.to_u64()))]);
    Stats::bump(&shared.stats.server_requests_forwarded);
    let _ = shared.client_tx.send(out).await;
}

async fn notification(shared: &Arc<Shared>, up: &Arc<Upstream>, frame: &Bytes, env: &Envelope<'_>) {
    let method = env.method.as_deref().unwrap_or_default();
    let out = match method {
        "notifications/progress" => {
            let Some(span) = env.notified_progress_token else {
                return dropped(shared);
            };
            let Some(key) = parse_u64_id(span.of(frame)).and_then(Key::from_u64) else {
                return dropped(shared);
            };
            let found = up
                .table
                .with(key, |p| (p.progress_token.clone(), p.hard_deadline));
            let Some((Some(token), hard)) = found else {
                return dropped(shared);
            };
            // Progress shows the request is alive: extend its deadline, never past the hard cap.
            let extended = shared.clock.deadline(up.timeout).min(hard);
            up.table.set_deadline(key, extended);
            splice(frame, &mut [(span, token)])
        }
        "notifications/cancelled" => {
            // The upstream cancels one of its own server→client requests.
            let Some(span) = env.request_id else {
                return dropped(shared);
            };
            let id = span.of(frame);
            let Some(key) = shared
                .reverse
                .find(|r| r.upstream == up.idx && r.upstream_id == id)
            else {
                return dropped(shared);
            };
            if shared.reverse.complete(key).is_none() {
                return dropped(shared);
            }
            splice(frame, &mut [(span, u64_id_bytes(key.to_u64()))])
        }
        "notifications/resources/updated" => match &env.uri {
            Some(uri) => {
                let prefixed = json_string(&namespace::join(up.name(), &uri.value));
                splice(frame, &mut [(uri.span, prefixed)])
            }
            None => OutFrame::One(frame.clone()),
        },
        _ => OutFrame::One(frame.clone()),
    };
    let _ = shared.client_tx.send(out).await;
}

fn dropped(shared: &Shared) {
    Stats::bump(&shared.stats.upstream_notifications_dropped);
}
