//! Tool calls that take part in a conversation instead of just answering: `progress` (timed
//! notifications), `sample`/`elicit`/`roots` (server->client requests awaited for the client's
//! reply) and `stderr_flood`. Each runs as a tokio task tracked by the session; it talks to the
//! session only through [`Event`]s, so the session loop stays the single owner of ids, output
//! order and cancellation.
//!
//! Invariants: a task never writes output itself; every task ends (its answer, a timeout after
//! `--client-timeout`, the session's cancel token, or the session's input closing).

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use serde_json::value::RawValue;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep, sleep_until, timeout, Instant};

use super::behaviour::Behaviour;
use super::wire;
use super::writer::Out;

/// Capacity of the task -> session event channel; tasks wait when the session is busy, which
/// slows tasks rather than growing memory.
pub const TASK_EVENTS: usize = 1024;

/// Biggest single write to stderr for `stderr_flood`.
const STDERR_CHUNK: usize = 64 * 1024;

/// What a task asks the session to do.
#[derive(Debug)]
pub enum Event {
    /// Write a notification frame now.
    Notify(Bytes),
    /// Write the final answer to request `id` (dropped if the client cancelled it).
    Answer {
        /// Raw id of the request being answered.
        id: Bytes,
        /// The answer.
        out: Out,
    },
    /// Send a server->client request; the session assigns the id and routes the reply back.
    ClientRequest {
        /// e.g. `sampling/createMessage`.
        method: &'static str,
        /// Params JSON.
        params: String,
        /// Where the client's reply goes.
        reply: oneshot::Sender<ClientReply>,
    },
}

/// The client's response to a server->client request.
#[derive(Debug)]
pub struct ClientReply {
    /// `result`, raw.
    pub result: Option<Box<RawValue>>,
    /// `error`, raw.
    pub error: Option<Box<RawValue>>,
}

/// A tool that runs as a task.
#[derive(Debug)]
pub enum TaskKind {
    /// `steps` progress notifications `interval` apart (only if the call carried a token).
    Progress {
        /// Number of notifications.
        steps: u64,
        /// Pause before each one.
        interval: Duration,
        /// Raw `_meta.progressToken`.
        token: Option<Bytes>,
    },
    /// `sampling/createMessage`.
    Sample {
        /// The user message.
        prompt: String,
        /// `maxTokens`.
        max_tokens: u64,
    },
    /// `elicitation/create`.
    Elicit {
        /// The message shown to the user.
        message: String,
    },
    /// `roots/list`.
    Roots,
    /// Write this many bytes to stderr.
    StderrFlood {
        /// Byte count.
        bytes: usize,
    },
}

/// Everything a task needs.
#[derive(Debug)]
pub struct TaskCtx {
    /// To the session.
    pub events: mpsc::Sender<Event>,
    /// Flags.
    pub b: Arc<Behaviour>,
    /// Raw id of the tools/call.
    pub id: Bytes,
    /// When the call's service time is over and the task may start.
    pub start_at: Instant,
}

impl TaskCtx {
    async fn answer(&self, body: &[u8]) {
        let mut out = BytesMut::with_capacity(body.len() + 64);
        wire::result(&mut out, &self.id, body);
        let event = Event::Answer {
            id: self.id.clone(),
            out: Out::Bytes(out.freeze()),
        };
        // A closed channel means the session is over; nobody is left to answer.
        let _ = self.events.send(event).await;
    }

    async fn answer_text(&self, text: &str, extra: &[u8]) {
        let mut body = BytesMut::new();
        wire::text_result(&mut body, text, extra);
        self.answer(&body).await;
    }

    async fn client_request(
        &self,
        method: &'static str,
        params: String,
    ) -> Result<ClientReply, String> {
        let (reply, rx) = oneshot::channel();
        let event = Event::ClientRequest {
            method,
            params,
            reply,
        };
        if self.events.send(event).await.is_err() {
            return Err("session ended".into());
        }
        match timeout(self.b.args.client_timeout, rx).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => Err("client input closed before it answered".into()),
            Err(_) => Err(format!(
                "client did not answer {method} within {:?}",
                self.b.args.client_timeout
            )),
        }
    }

    /// Asks the client, then answers the tool call with `<label>: <summary>` and the raw reply
    /// under `key`, or with `isError` carrying the client's error.
    async fn ask(
        &self,
        method: &'static str,
        params: String,
        label: &str,
        key: &str,
        summarize: fn(&Value) -> String,
    ) {
        match self.client_request(method, params).await {
            Ok(ClientReply {
                result: Some(result),
                ..
            }) => {
                let summary = serde_json::from_str::<Value>(result.get())
                    .map(|v| summarize(&v))
                    .unwrap_or_default();
                let extra = format!(",\"{key}\":{}", result.get());
                self.answer_text(&format!("{label}: {summary}"), extra.as_bytes())
                    .await;
            }
            Ok(ClientReply { error, .. }) => {
                let raw = error.map_or_else(|| "null".to_owned(), |e| e.get().to_owned());
                let message = serde_json::from_str::<Value>(&raw)
                    .ok()
                    .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
                    .unwrap_or_else(|| raw.clone());
                let extra = format!(",\"isError\":true,\"clientError\":{raw}");
                self.answer_text(&format!("client error: {message}"), extra.as_bytes())
                    .await;
            }
            Err(why) => self.answer_text(&why, br#","isError":true"#).await,
        }
    }
}

/// The text of a sampling result: `content.text`, or the texts of a content array joined.
fn sampled_text(v: &Value) -> String {
    match &v["content"] {
        Value::Array(items) => items
            .iter()
            .filter_map(|c| c["text"].as_str())
            .collect::<Vec<_>>()
            .join(" "),
        c => c["text"].as_str().unwrap_or_default().to_owned(),
    }
}

fn elicited(v: &Value) -> String {
    let action = v["action"].as_str().unwrap_or("?");
    match v.get("content") {
        Some(c) => format!("{action} {c}"),
        None => action.to_owned(),
    }
}

fn roots_summary(v: &Value) -> String {
    v["roots"]
        .as_array()
        .map(|roots| {
            roots
                .iter()
                .filter_map(|r| r["uri"].as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// Runs one task to completion.
pub async fn run(ctx: TaskCtx, kind: TaskKind) {
    sleep_until(ctx.start_at).await;
    match kind {
        TaskKind::Progress {
            steps,
            interval,
            token,
        } => {
            for i in 1..=steps {
                sleep(interval).await;
                if let Some(token) = &token {
                    let params = format!(
                        r#"{{"progressToken":{},"progress":{i},"total":{steps},"message":"step {i} of {steps}"}}"#,
                        String::from_utf8_lossy(token)
                    );
                    let mut out = BytesMut::new();
                    wire::notification(&mut out, "notifications/progress", params.as_bytes());
                    if ctx.events.send(Event::Notify(out.freeze())).await.is_err() {
                        return;
                    }
                }
            }
            ctx.answer_text(&format!("progress: {steps} steps done"), b"")
                .await;
        }
        TaskKind::Sample { prompt, max_tokens } => {
            let params = format!(
                r#"{{"messages":[{{"role":"user","content":{{"type":"text","text":{}}}}}],"maxTokens":{max_tokens}}}"#,
                wire::quoted(&prompt)
            );
            ctx.ask(
                "sampling/createMessage",
                params,
                "sampled",
                "sampled",
                sampled_text,
            )
            .await;
        }
        TaskKind::Elicit { message } => {
            let params = format!(
                r#"{{"message":{},"requestedSchema":{{"type":"object","properties":{{"name":{{"type":"string"}}}},"required":["name"]}}}}"#,
                wire::quoted(&message)
            );
            ctx.ask(
                "elicitation/create",
                params,
                "elicited",
                "elicited",
                elicited,
            )
            .await;
        }
        TaskKind::Roots => {
            ctx.ask("roots/list", "{}".into(), "roots", "roots", roots_summary)
                .await;
        }
        TaskKind::StderrFlood { bytes } => {
            write_stderr(bytes).await;
            ctx.answer_text(&format!("wrote {bytes} bytes to stderr"), b"")
                .await;
        }
    }
}

/// Writes `total` bytes of filler lines to stderr (through tokio's blocking pool, so a parent that
/// does not drain stderr blocks this task, not the runtime).
pub async fn write_stderr(total: usize) {
    const LINE: &[u8] =
        b"gatekit-mock stderr flood: the quick brown fox jumps over the lazy dog.\n";
    let chunk: Vec<u8> = LINE
        .iter()
        .copied()
        .cycle()
        .take(STDERR_CHUNK.min(total))
        .collect();
    let mut err = tokio::io::stderr();
    let mut left = total;
    while left > 0 {
        let n = left.min(chunk.len());
        if err.write_all(&chunk[..n]).await.is_err() {
            return;
        }
        left -= n;
    }
    let _ = err.flush().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summaries_read_client_replies() {
        assert_eq!(
            sampled_text(&json!({"role":"assistant","content":{"type":"text","text":"hi"}})),
            "hi"
        );
        assert_eq!(
            sampled_text(
                &json!({"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]})
            ),
            "a b"
        );
        assert_eq!(elicited(&json!({"action":"decline"})), "decline");
        assert_eq!(
            elicited(&json!({"action":"accept","content":{"name":"x"}})),
            r#"accept {"name":"x"}"#
        );
        assert_eq!(
            roots_summary(&json!({"roots":[{"uri":"file:///a"},{"uri":"file:///b"}]})),
            "file:///a, file:///b"
        );
    }
}
