//! Forwarding requests to an upstream and completing them: the hot path.
//!
//! A client request is rewritten by splicing, never re-serialized: its id becomes the upstream id the
//! correlation table assigned, a namespaced `params.name`/`uri` loses its `server__` prefix, and a
//! progress token becomes the upstream id too (so progress maps back through the same table entry).
//! The response gets the client's original id bytes spliced back in.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::oneshot;

use super::state::{Failure, Origin, Pending, Reply, Shared, Upstream};
use super::stats::Stats;
use crate::correlation::Key;
use crate::framing::writer::OutFrame;
use crate::jsonrpc::envelope::{Envelope, Span};
use crate::jsonrpc::error::{code, error_frame, notification_frame, request_frame};
use crate::jsonrpc::id::{splice, u64_id_bytes};

/// How far progress notifications may push a request's deadline, in multiples of its timeout.
pub const PROGRESS_EXTENSION_FACTOR: u32 = 10;

/// Formats a timeout the way error messages show it ("2 seconds", "0.25 seconds").
pub fn fmt_timeout(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs.fract() == 0.0 {
        format!("{} seconds", d.as_secs())
    } else {
        format!("{secs} seconds")
    }
}

/// Answers the client with an error for the request whose raw id is `id`.
pub async fn reply_error(shared: &Shared, reply: &Reply, id: &[u8], code: i64, message: &str) {
    shared
        .deliver(
            reply,
            OutFrame::One(error_frame(Some(id), code, message, None)),
        )
        .await;
}

/// The error the client gets when `up` cannot take its request.
pub async fn reply_unavailable(
    shared: &Shared,
    up: &Upstream,
    reply: &Reply,
    id: &[u8],
    why: &str,
) {
    let msg = format!("Server '{}' is unavailable: {why}", up.name());
    reply_error(shared, reply, id, code::UPSTREAM_UNAVAILABLE, &msg).await;
}

/// Forwards the client request `frame` (scanned as `env`) to `up`, replacing `rename` (the span of a
/// namespaced name or URI and its upstream-side JSON string) on the way.
pub async fn forward(
    shared: &Arc<Shared>,
    up: &Arc<Upstream>,
    frame: &Bytes,
    env: &Envelope<'_>,
    rename: Option<(Span, Bytes)>,
    reply: Reply,
) {
    let Some(id_span) = env.id else { return };
    let client_id = Bytes::copy_from_slice(id_span.of(frame));
    if !up.is_ready() {
        reply_unavailable(shared, up, &reply, &client_id, &up.unavailable_reason()).await;
        return;
    }
    // Backpressure: with every slot of this upstream in use, the client's reader waits here.
    match up.permits.acquire().await {
        Ok(permit) => permit.forget(),
        Err(_) => return,
    }
    let progress_token = env
        .progress_token
        .map(|s| Bytes::copy_from_slice(s.of(frame)));
    let has_progress = progress_token.is_some();
    let pending = Pending {
        origin: Origin::Client(reply),
        client_id,
        progress_token,
        hard_deadline: shared
            .clock
            .deadline(up.timeout * PROGRESS_EXTENSION_FACTOR),
    };
    let key = match up.table.insert(pending, shared.clock.deadline(up.timeout)) {
        Ok(key) => key,
        Err(pending) => {
            // Unreachable while permits == capacity; answered rather than assumed.
            up.permits.add_permits(1);
            let Origin::Client(reply) = pending.origin else {
                return;
            };
            reply_unavailable(
                shared,
                up,
                &reply,
                &pending.client_id,
                "too many requests in flight",
            )
            .await;
            return;
        }
    };
    let key_bytes = u64_id_bytes(key.to_u64());
    let mut repl: Vec<(Span, Bytes)> = Vec::with_capacity(3);
    repl.push((id_span, key_bytes.clone()));
    if let Some(r) = rename {
        repl.push(r);
    }
    if has_progress {
        if let Some(span) = env.progress_token {
            repl.push((span, key_bytes));
        }
    }
    let out = splice(frame, &mut repl);
    send_or_fail(shared, up, key, out).await;
    Stats::bump(&shared.stats.requests_forwarded);
}

/// Sends a frame for the pending entry `key`; if the upstream is gone, fails the entry.
/// An upstream that stops reading its stdin fills its channel. The wait for room is bounded by
/// the request's own timeout, so one stuck upstream cannot hold the client's reader (and with it
/// every other upstream) for long; once a wait ran out, further requests to that upstream fail at
/// once while its channel stays full, until it reads again.
async fn send_or_fail(shared: &Shared, up: &Upstream, key: Key, out: OutFrame) {
    use std::sync::atomic::Ordering;
    use tokio::sync::mpsc::error::TrySendError;
    let sent = match up.link() {
        None => false,
        Some(tx) => match tx.try_send(out) {
            Ok(()) => true,
            Err(TrySendError::Closed(_)) => false,
            Err(TrySendError::Full(_)) if up.stalled.load(Ordering::Relaxed) => false,
            Err(TrySendError::Full(out)) => {
                match tokio::time::timeout(up.timeout, tx.send(out)).await {
                    Ok(r) => r.is_ok(),
                    Err(_) => {
                        tracing::warn!(upstream = up.name(), "upstream is not reading its input");
                        up.stalled.store(true, Ordering::Relaxed);
                        false
                    }
                }
            }
        },
    };
    if sent {
        up.stalled.store(false, Ordering::Relaxed);
    }
    if !sent {
        if let Some(p) = up.take(key) {
            fail(
                shared,
                up,
                p,
                Failure::Unavailable(if up.stalled.load(std::sync::atomic::Ordering::Relaxed) {
                    "not reading its input".to_owned()
                } else {
                    "not running".to_owned()
                }),
            )
            .await;
        }
    }
}

/// Answers a pending entry that will get no response from its upstream.
pub async fn fail(shared: &Shared, up: &Upstream, p: Pending, why: Failure) {
    match p.origin {
        Origin::Internal(tx) => {
            let _ = tx.send(Err(why));
        }
        Origin::Client(reply) => {
            let (code, msg) = match &why {
                Failure::Timeout(d) => (
                    code::UPSTREAM_UNAVAILABLE,
                    format!("Request to server '{}' timed out after {}", up.name(), fmt_timeout(*d)),
                ),
                Failure::Unavailable(why) => {
                    (code::UPSTREAM_UNAVAILABLE, format!("Server '{}' is unavailable: {why}", up.name()))
                }
                Failure::Oversize(n) => (
                    code::UPSTREAM_UNAVAILABLE,
                    format!(
                        "Response from server '{}' exceeded the message limit of {} bytes ({n} bytes)",
                        up.name(),
                        shared.max_message_bytes
                    ),
                ),
                Failure::Invalid(why) => (
                    code::UPSTREAM_UNAVAILABLE,
                    format!("Server '{}' sent an invalid response: {why}", up.name()),
                ),
            };
            reply_error(shared, &reply, &p.client_id, code, &msg).await;
        }
    }
}

/// Completes the pending entry `key` with the upstream's response `frame` (its id at `id_span`).
pub async fn complete(shared: &Shared, up: &Upstream, key: Key, frame: Bytes, id_span: Span) {
    let Some(p) = up.take(key) else {
        if up.was_late(key.to_u64()) {
            Stats::bump(&shared.stats.upstream_late_responses);
        } else {
            Stats::bump(&shared.stats.upstream_unknown_responses);
        }
        return;
    };
    match p.origin {
        Origin::Internal(tx) => {
            let _ = tx.send(Ok(frame));
        }
        Origin::Client(reply) => {
            let out = splice(&frame, &mut [(id_span, p.client_id)]);
            shared.deliver(&reply, out).await;
            Stats::bump(&shared.stats.responses_returned);
        }
    }
}

/// Sends `notifications/cancelled` for upstream id `key` to `up`. Best effort and never waits: the
/// sweeper calls it, and an upstream that does not read must not stall every other deadline.
pub fn cancel_upstream(up: &Upstream, key: Key, reason: &str) {
    let params = serde_json::json!({ "requestId": key.to_u64(), "reason": reason });
    let frame = notification_frame(
        "notifications/cancelled",
        Some(params.to_string().as_bytes()),
    );
    if let Some(tx) = up.link() {
        if tx.try_send(OutFrame::One(frame)).is_err() {
            tracing::debug!(
                upstream = up.name(),
                "cancellation not sent: upstream input full"
            );
        }
    }
}

/// A request the gateway itself makes to `up` (initialize, list pages, fan-outs). Returns the raw
/// response frame. `cancel_on_timeout` is false for `initialize`, which MUST NOT be cancelled.
pub async fn internal_request(
    shared: &Shared,
    up: &Upstream,
    method: &str,
    params: Option<&[u8]>,
    timeout: Duration,
) -> Result<Bytes, Failure> {
    if up.permits.acquire().await.map(|p| p.forget()).is_err() {
        return Err(Failure::Unavailable("closed".to_owned()));
    }
    let (tx, rx) = oneshot::channel();
    let pending = Pending {
        origin: Origin::Internal(tx),
        client_id: Bytes::new(),
        progress_token: None,
        hard_deadline: shared.clock.deadline(timeout),
    };
    let key = match up.table.insert(pending, shared.clock.deadline(timeout)) {
        Ok(key) => key,
        Err(_) => {
            up.permits.add_permits(1);
            return Err(Failure::Unavailable(
                "too many requests in flight".to_owned(),
            ));
        }
    };
    let frame = request_frame(&u64_id_bytes(key.to_u64()), method, params);
    send_or_fail(shared, up, key, OutFrame::One(frame)).await;
    rx.await
        .unwrap_or_else(|_| Err(Failure::Unavailable("gateway shutting down".to_owned())))
}

/// What a raw response frame says: its `result` (raw JSON) or its error.
pub fn parse_response(frame: &[u8]) -> Result<Box<serde_json::value::RawValue>, (i64, String)> {
    #[derive(serde::Deserialize)]
    struct Resp {
        result: Option<Box<serde_json::value::RawValue>>,
        error: Option<ErrorObj>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorObj {
        code: i64,
        message: String,
    }
    match serde_json::from_slice::<Resp>(frame) {
        Ok(Resp {
            result: Some(r), ..
        }) => Ok(r),
        Ok(Resp { error: Some(e), .. }) => Err((e.code, e.message)),
        Ok(_) => Err((
            code::INTERNAL_ERROR,
            "response has neither result nor error".to_owned(),
        )),
        Err(e) => Err((code::INTERNAL_ERROR, format!("unreadable response: {e}"))),
    }
}

/// A short human text for a failure, for `_meta` error lists and logs.
pub fn describe(f: &Failure) -> String {
    match f {
        Failure::Timeout(d) => format!("timed out after {}", fmt_timeout(*d)),
        Failure::Unavailable(why) => format!("unavailable: {why}"),
        Failure::Oversize(n) => format!("response of {n} bytes exceeded the message limit"),
        Failure::Invalid(why) => format!("invalid response: {why}"),
    }
}
