//! The client's side: reads the client's frames and dispatches each message.
//!
//! Requests are dispatched as soon as they are read (the client may pipeline any number); replies
//! go out in whatever order upstreams answer. Bad input gets exactly one clear answer or is
//! counted, and never ends the session: invalid JSON or UTF-8 → one -32700 (id null); JSON that is
//! not JSON-RPC, or a request with a null id → -32600 (id null); an oversize line → -32600 naming the
//! limit when its id can be recovered, counted otherwise; a response with an unknown id → counted.

use std::sync::Arc;

use bytes::Bytes;
use tokio::io::AsyncRead;
use tokio_util::codec::FramedRead;

use super::aggregate;
use super::handshake;
use super::namespace;
use super::route::{forward, reply_error};
use super::state::{BatchCollector, Origin, Reply, Shared};
use super::stats::Stats;
use super::upstream::next_frame;
use crate::correlation::Key;
use crate::framing::codec::{Frame, LineCodec};
use crate::framing::writer::OutFrame;
use crate::jsonrpc::envelope::{
    recover_id, scan, split_batch, Envelope, Kind, ScanError, StrField,
};
use crate::jsonrpc::error::{code, error_frame, result_frame};
use crate::jsonrpc::id::{json_string, parse_u64_id, splice, u64_id_bytes};

/// Read buffer for the client's stdin.
pub const READ_BUFFER: usize = 64 * 1024;

/// Why the client side stopped.
#[derive(Debug)]
pub enum ClientExit {
    /// The client closed our stdin.
    Eof,
    /// Reading stdin failed.
    Io(std::io::Error),
    /// The session ended (shutdown signal or a fatal startup failure).
    Stopped,
}

/// Reads and dispatches client messages until EOF, a read error, or `stop` fires.
pub async fn run_client_reader(
    shared: Arc<Shared>,
    reader: impl AsyncRead + Unpin,
    stop: tokio_util::sync::CancellationToken,
) -> ClientExit {
    let mut frames = FramedRead::with_capacity(
        reader,
        LineCodec::new(shared.max_message_bytes),
        READ_BUFFER,
    );
    loop {
        let next = tokio::select! {
            // Cancel-safe: FramedRead keeps a partial line in its own buffer.
            f = next_frame(&mut frames) => f,
            _ = stop.cancelled() => return ClientExit::Stopped,
            _ = shared.fatal.cancelled() => return ClientExit::Stopped,
        };
        match next {
            None => return ClientExit::Eof,
            Some(Err(e)) => return ClientExit::Io(e),
            Some(Ok(Frame::Line(line))) => on_line(&shared, line, Reply::Direct, true).await,
            Some(Ok(Frame::Oversize { prefix, len })) => on_oversize(&shared, &prefix, len).await,
        }
    }
}

async fn on_oversize(shared: &Arc<Shared>, prefix: &[u8], len: usize) {
    let rec = recover_id(prefix);
    match rec.id {
        Some(span) if rec.has_method => {
            Stats::bump(&shared.stats.client_oversize_answered);
            let msg = format!(
                "Invalid Request: message of {len} bytes exceeds the limit of {} bytes (proxy.max_message_bytes)",
                shared.max_message_bytes
            );
            let f = error_frame(Some(span.of(prefix)), code::INVALID_REQUEST, &msg, None);
            shared.deliver(&Reply::Direct, OutFrame::One(f)).await;
        }
        _ => {
            Stats::bump(&shared.stats.client_oversize_dropped);
            tracing::warn!(
                len,
                "dropped an oversize client message without a recoverable id"
            );
        }
    }
}

/// Handles one client line (or one batch element when `top` is false).
async fn on_line(shared: &Arc<Shared>, line: Bytes, reply: Reply, top: bool) {
    match scan(&line) {
        Ok(env) => on_message(shared, &line, env, reply).await,
        Err(ScanError::Batch) if top => on_batch(shared, &line).await,
        Err(ScanError::Batch) => {
            invalid(
                shared,
                &reply,
                "Invalid Request: a batch must not contain a batch",
            )
            .await
        }
        Err(ScanError::InvalidJson(msg)) => {
            Stats::bump(&shared.stats.client_parse_errors);
            if let Reply::Batch(b) = &reply {
                b.expect_one();
            }
            let f = error_frame(
                None,
                code::PARSE_ERROR,
                &format!("Parse error: {msg}"),
                None,
            );
            shared.deliver(&reply, OutFrame::One(f)).await;
        }
        Err(ScanError::InvalidRequest(msg)) => {
            invalid(shared, &reply, &format!("Invalid Request: {msg}")).await
        }
    }
}

async fn invalid(shared: &Shared, reply: &Reply, msg: &str) {
    Stats::bump(&shared.stats.client_invalid_requests);
    if let Reply::Batch(b) = reply {
        b.expect_one();
    }
    let f = error_frame(None, code::INVALID_REQUEST, msg, None);
    shared.deliver(reply, OutFrame::One(f)).await;
}

/// A JSON-RPC batch (2025-03-26): each element is dispatched on its own; the responses go back as
/// one array once all are in. A batch of notifications only gets no reply.
async fn on_batch(shared: &Arc<Shared>, line: &Bytes) {
    let items = match split_batch(line) {
        Ok(items) => items,
        Err(ScanError::InvalidJson(msg)) => {
            Stats::bump(&shared.stats.client_parse_errors);
            let f = error_frame(
                None,
                code::PARSE_ERROR,
                &format!("Parse error: {msg}"),
                None,
            );
            return shared.deliver(&Reply::Direct, OutFrame::One(f)).await;
        }
        Err(e) => return invalid(shared, &Reply::Direct, &e.to_string()).await,
    };
    let batch = Arc::new(BatchCollector::default());
    for item in items {
        Box::pin(on_line(shared, item, Reply::Batch(batch.clone()), false)).await;
    }
    shared.seal(&batch).await;
}

async fn on_message(shared: &Arc<Shared>, frame: &Bytes, env: Envelope<'_>, reply: Reply) {
    match env.kind {
        Kind::Request => {
            if let Reply::Batch(b) = &reply {
                b.expect_one();
            }
            on_request(shared, frame, env, reply).await
        }
        Kind::Notification => on_notification(shared, frame, &env).await,
        Kind::Response => on_response(shared, frame, &env).await,
    }
}

async fn on_request(shared: &Arc<Shared>, frame: &Bytes, env: Envelope<'_>, reply: Reply) {
    let Some(id_span) = env.id else { return };
    let id = id_span.of(frame);
    let method = env.method.as_deref().unwrap_or_default();
    match method {
        "ping" => {
            let f = result_frame(id, b"{}");
            return shared.deliver(&reply, OutFrame::One(f)).await;
        }
        "initialize" => {
            match handshake::record_session(shared, id, env.params.map(|s| s.of(frame))) {
                Ok(()) => {
                    let id = Bytes::copy_from_slice(id);
                    shared
                        .tracker
                        .spawn(handshake::answer_initialize(shared.clone(), id, reply));
                }
                Err(f) => shared.deliver(&reply, OutFrame::One(f)).await,
            }
            return;
        }
        "server/discover" => {
            let msg = "Method not found: server/discover (gatekit speaks protocol versions 2024-11-05 to 2025-11-25; use initialize)";
            return reply_error(shared, &reply, id, code::METHOD_NOT_FOUND, msg).await;
        }
        _ => {}
    }
    if !wait_initialized(shared).await {
        let msg = "Invalid Request: the session is not initialized (send initialize first)";
        return reply_error(shared, &reply, id, code::INVALID_REQUEST, msg).await;
    }
    match method {
        "tools/call" => {
            route_named(shared, frame, &env, env.name.as_ref(), Target::Tool, reply).await
        }
        "prompts/get" => {
            route_named(
                shared,
                frame,
                &env,
                env.name.as_ref(),
                Target::Prompt,
                reply,
            )
            .await
        }
        "resources/read" | "resources/subscribe" | "resources/unsubscribe" => {
            route_named(
                shared,
                frame,
                &env,
                env.uri.as_ref(),
                Target::Resource,
                reply,
            )
            .await
        }
        "completion/complete" => {
            let (field, target) = match (&env.ref_name, &env.ref_uri) {
                (Some(n), _) => (Some(n), Target::Prompt),
                (None, Some(u)) => (Some(u), Target::Resource),
                (None, None) => (None, Target::Reference),
            };
            route_named(shared, frame, &env, field, target, reply).await
        }
        "tools/list" | "prompts/list" | "resources/list" | "resources/templates/list" => {
            aggregate::spawn_list(shared, frame, &env, reply)
        }
        "logging/setLevel" => aggregate::spawn_set_level(shared, frame, &env, reply),
        _ => {
            let msg = format!("Method not found: {method}");
            reply_error(shared, &reply, id, code::METHOD_NOT_FOUND, &msg).await
        }
    }
}

/// Waits for the gateway's `initialize` answer if one is under way. False if none was asked for.
async fn wait_initialized(shared: &Shared) -> bool {
    if *shared.init_done.borrow() {
        return true;
    }
    if shared.session.borrow().is_none() {
        return false;
    }
    let mut rx = shared.init_done.subscribe();
    let done = rx.wait_for(|done| *done).await.is_ok();
    done
}

/// What kind of name a routed request carries (for error texts).
#[derive(Debug, Clone, Copy)]
enum Target {
    Tool,
    Prompt,
    Resource,
    Reference,
}

async fn route_named(
    shared: &Arc<Shared>,
    frame: &Bytes,
    env: &Envelope<'_>,
    field: Option<&StrField<'_>>,
    target: Target,
    reply: Reply,
) {
    let Some(id_span) = env.id else { return };
    let id = id_span.of(frame);
    let Some(field) = field else {
        let msg = match target {
            Target::Tool => "Tool call missing required 'name' parameter",
            Target::Prompt => "Prompt request missing required 'name' parameter",
            Target::Resource => "Resource request missing required 'uri' parameter",
            Target::Reference => "Completion request missing 'ref.name' or 'ref.uri'",
        };
        return reply_error(shared, &reply, id, code::INVALID_PARAMS, msg).await;
    };
    let Some((server, rest)) = namespace::split(&field.value) else {
        let msg = match target {
            Target::Tool => format!(
                "Tool '{}' is not properly namespaced. All tool calls must use 'server__tool' format (e.g., 'filesystem__echo')",
                field.value
            ),
            Target::Prompt => format!(
                "Prompt '{}' is not properly namespaced. Prompts must use 'server__prompt' format",
                field.value
            ),
            Target::Resource | Target::Reference => format!(
                "Resource '{}' is not properly namespaced. Resource URIs must use 'server__uri' format",
                field.value
            ),
        };
        return reply_error(shared, &reply, id, code::INVALID_PARAMS, &msg).await;
    };
    let Some(up) = shared.upstream(server) else {
        let msg = format!("Unknown server '{server}' in request");
        return reply_error(shared, &reply, id, code::INVALID_PARAMS, &msg).await;
    };
    let up = up.clone();
    forward(
        shared,
        &up,
        frame,
        env,
        Some((field.span, json_string(rest))),
        reply,
    )
    .await;
}

async fn on_notification(shared: &Arc<Shared>, frame: &Bytes, env: &Envelope<'_>) {
    let method = env.method.as_deref().unwrap_or_default();
    match method {
        "notifications/initialized" => {
            // Each upstream's supervisor forwards it once its own handshake is done.
            shared.client_initialized.send_replace(true);
        }
        "notifications/cancelled" => cancel_from_client(shared, frame, env).await,
        "notifications/progress" => {
            // Progress for a server→client request: its token is the upstream's own, unchanged.
            Stats::bump(&shared.stats.client_notifications_dropped);
        }
        _ => {
            // e.g. notifications/roots/list_changed: every ready upstream hears it.
            for up in shared.upstreams.iter().filter(|u| u.is_ready()) {
                if let Some(tx) = up.link() {
                    let _ = tx.send(OutFrame::One(frame.clone())).await;
                }
            }
        }
    }
}

/// The client cancels one of its requests: drop the pending entry (no response follows) and tell
/// the owning upstream with its own id.
async fn cancel_from_client(shared: &Arc<Shared>, frame: &Bytes, env: &Envelope<'_>) {
    let Some(span) = env.request_id else {
        return Stats::bump(&shared.stats.client_notifications_dropped);
    };
    let client_id = span.of(frame);
    for up in &shared.upstreams {
        let Some(key) = up
            .table
            .find(|p| matches!(p.origin, Origin::Client(_)) && p.client_id == client_id)
        else {
            continue;
        };
        let Some(pending) = up.take(key) else {
            continue;
        };
        up.remember_late(key);
        Stats::bump(&shared.stats.cancelled);
        if let Origin::Client(Reply::Batch(batch)) = &pending.origin {
            // A batch still owes this element an answer.
            let f = error_frame(
                Some(&pending.client_id),
                code::INTERNAL_ERROR,
                "Request cancelled",
                None,
            );
            shared
                .deliver(&Reply::Batch(batch.clone()), OutFrame::One(f))
                .await;
        }
        let out = splice(frame, &mut [(span, u64_id_bytes(key.to_u64()))]);
        // Best effort: the entry is gone either way, and a stuck upstream must not hold the reader.
        if let Some(tx) = up.link() {
            let _ = tx.try_send(out);
        }
        return;
    }
    Stats::bump(&shared.stats.client_notifications_dropped);
}

/// The client answers a server→client request: route it back to the upstream that asked, with
/// the upstream's own id restored.
async fn on_response(shared: &Arc<Shared>, frame: &Bytes, env: &Envelope<'_>) {
    let key = env
        .id
        .and_then(|s| parse_u64_id(s.of(frame)))
        .and_then(Key::from_u64);
    let (Some(key), Some(span)) = (key, env.id) else {
        return Stats::bump(&shared.stats.client_unknown_responses);
    };
    let Some(req) = shared.reverse.complete(key) else {
        return Stats::bump(&shared.stats.client_unknown_responses);
    };
    let Some(up) = shared.upstreams.get(req.upstream) else {
        return;
    };
    let out = splice(frame, &mut [(span, req.upstream_id)]);
    if let Some(tx) = up.link() {
        let _ = tx.send(out).await;
    }
}
