//! Incoming messages: a line is parsed into a borrowed [`Incoming`] and routed as a request, a
//! notification, or a response to one of our server->client requests; batches are split;
//! unparsable lines get one -32700 each.
//!
//! Invariants: a notification is never answered; a response whose id matches no pending
//! server->client request is counted and dropped; `--drop-id` applies before any handling.

use bytes::Bytes;
use serde_json::value::RawValue;

use super::session::{Session, MAX_TRACKED_CANCELS};
use super::stats::Stats;
use super::tasks::ClientReply;
use super::wire::{self, Incoming};

impl Session {
    pub(crate) fn handle_line(&mut self, line: &[u8]) {
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        if line.trim_ascii_start().first() == Some(&b'[') {
            return self.handle_batch(line);
        }
        match serde_json::from_slice::<Incoming<'_>>(line) {
            Ok(m) => self.handle_message(m),
            Err(e) => {
                Stats::bump(&self.b.stats.parse_errors);
                tracing::debug!(error = %e, "unparsable line");
                wire::error(&mut self.out, b"null", wire::PARSE_ERROR, "Parse error");
            }
        }
    }

    /// JSON-RPC batches (2025-03-26): each element is handled as if it came on its own line and
    /// answered on its own line (the gateway splits batches; this keeps the mock simple).
    fn handle_batch(&mut self, line: &[u8]) {
        match serde_json::from_slice::<Vec<&RawValue>>(line) {
            Ok(items) if !items.is_empty() => {
                for item in items {
                    match serde_json::from_str::<Incoming<'_>>(item.get()) {
                        Ok(m) => self.handle_message(m),
                        Err(_) => wire::error(
                            &mut self.out,
                            b"null",
                            wire::INVALID_REQUEST,
                            "Invalid Request",
                        ),
                    }
                }
            }
            Ok(_) => wire::error(&mut self.out, b"null", wire::INVALID_REQUEST, "empty batch"),
            Err(_) => {
                Stats::bump(&self.b.stats.parse_errors);
                wire::error(&mut self.out, b"null", wire::PARSE_ERROR, "Parse error");
            }
        }
    }

    fn handle_message(&mut self, m: Incoming<'_>) {
        match (m.method, m.id) {
            (Some(method), Some(id)) => {
                Stats::bump(&self.b.stats.requests);
                if self.is_dropped_id(id) {
                    Stats::bump(&self.b.stats.dropped);
                    return;
                }
                self.handle_request(&method, id, m.params);
            }
            (Some(method), None) => {
                Stats::bump(&self.b.stats.notifications);
                self.handle_notification(&method, m.params);
            }
            (None, Some(id)) if m.result.is_some() || m.error.is_some() => {
                self.handle_client_reply(id, m.result, m.error);
            }
            // A response without a usable id (e.g. `"id":null` on an error): never answer a
            // response, or two peers could bounce errors forever.
            (None, None) if m.error.is_some() || m.result.is_some() => {
                Stats::bump(&self.b.stats.client_responses);
                Stats::bump(&self.b.stats.unknown_response_ids);
            }
            (None, id) => {
                let id = id.map_or("null", RawValue::get);
                wire::error(
                    &mut self.out,
                    id.as_bytes(),
                    wire::INVALID_REQUEST,
                    "Invalid Request",
                );
            }
        }
    }

    fn is_dropped_id(&self, id: &RawValue) -> bool {
        let ids = &self.b.args.drop_ids;
        !ids.is_empty()
            && ids
                .iter()
                .any(|d| d == id.get() || wire::as_str(id).is_some_and(|s| s == d.as_str()))
    }

    fn handle_notification(&mut self, method: &str, params: Option<&RawValue>) {
        match method {
            "notifications/initialized" => {}
            "notifications/cancelled" => {
                Stats::bump(&self.b.stats.cancels);
                #[derive(serde::Deserialize, Default)]
                struct Cancelled<'a> {
                    #[serde(borrow, rename = "requestId")]
                    request_id: Option<&'a RawValue>,
                }
                if self.b.args.ignore_cancel {
                    // Keep working and answer anyway: a peer whose answers arrive late.
                } else if let Ok(Cancelled {
                    request_id: Some(id),
                }) = wire::params::<Cancelled<'_>>(params)
                {
                    if self.cancelled.len() >= MAX_TRACKED_CANCELS {
                        self.cancelled.clear();
                    }
                    self.cancelled
                        .insert(Bytes::copy_from_slice(id.get().as_bytes()));
                }
            }
            other => tracing::trace!(method = other, "notification ignored"),
        }
    }

    fn handle_client_reply(
        &mut self,
        id: &RawValue,
        result: Option<&RawValue>,
        error: Option<&RawValue>,
    ) {
        Stats::bump(&self.b.stats.client_responses);
        let waiter = serde_json::from_str::<u64>(id.get())
            .ok()
            .and_then(|n| self.client_pending.remove(&n));
        match waiter {
            Some(tx) => {
                // The task may have timed out meanwhile; then nobody wants the reply.
                let _ = tx.send(ClientReply {
                    result: result.map(RawValue::to_owned),
                    error: error.map(RawValue::to_owned),
                });
            }
            None => {
                Stats::bump(&self.b.stats.unknown_response_ids);
                tracing::debug!(id = id.get(), "response to an unknown id");
            }
        }
    }
}
