//! `tools/call`: picks the tool, applies service time, serial queueing, drops and faults, and
//! either answers at once, schedules the answer on the session's timer heap, or starts a task.
//!
//! Invariants: the answer's timing is decided when the call arrives (service time from the
//! seeded RNG; in serial mode each call starts when the previous one ends, so answers leave in
//! arrival order); a zero-delay answer is written in the same turn without any allocation beyond
//! the output buffer; unknown tools are -32602, bad arguments are `isError` results.

use std::borrow::Cow;
use std::time::Duration;

use bytes::Bytes;
use serde_json::value::RawValue;
use tokio::time::Instant;

use super::answers::{blob, echo, ms, payload, size, text_answer, Args};
use super::behaviour::payload_text;
use super::faults;
use super::session::{Pending, Session, SessionEnd};
use super::stats::Stats;
use super::tasks::TaskKind;
use super::wire::{self, CallParams};
use super::writer::Out;

/// Default lateness of the `late` tool.
const DEFAULT_LATE: Duration = Duration::from_secs(1);
/// Default pause between bytes of the `drip` tool.
const DEFAULT_DRIP_PAUSE: Duration = Duration::from_millis(1);
/// Default exit code of the `crash` tool.
const DEFAULT_CRASH_CODE: i32 = 3;

/// What the session must do with a call once its answer bytes (if any) are built.
enum Plan {
    /// Write these frames (possibly delayed).
    Frames,
    /// Drip the frames out.
    Drip(Duration),
    /// Write the frames without their last newline and end the session.
    Final,
    /// Start a task.
    Task(TaskKind),
    /// Never answer.
    Drop,
}

impl Session {
    /// Handles one `tools/call`.
    pub(crate) fn handle_call(&mut self, id: &RawValue, params: Option<&RawValue>) {
        Stats::bump(&self.b.stats.calls);
        self.calls += 1;
        let idb = id.get().as_bytes();
        if let Some(n) = self.b.args.crash_after {
            if self.calls > n {
                tracing::info!(after = n, "crash-after reached; exiting");
                self.end = Some(SessionEnd::Crash {
                    code: self.b.args.crash_code,
                });
                return;
            }
        }
        let Some(raw) = params else {
            return self.fail(idb, wire::INVALID_PARAMS, "tools/call needs params");
        };
        let p: CallParams<'_> = match serde_json::from_str(raw.get()) {
            Ok(p) => p,
            Err(e) => return self.fail(idb, wire::INVALID_PARAMS, &format!("invalid params: {e}")),
        };
        if self.rng.chance(self.b.args.drop_rate) {
            Stats::bump(&self.b.stats.dropped);
            return;
        }
        let args: Args<'_> = match p.arguments.map(|a| serde_json::from_str(a.get())) {
            None => Args::default(),
            Some(Ok(a)) => a,
            Some(Err(e)) => {
                return self.call_error(idb, &format!("invalid arguments: {e}"));
            }
        };

        let now = Instant::now();
        let mut work = self.b.args.service_time.sample(&mut self.rng);
        let mut late = Duration::from_millis(self.b.args.late_ms);
        // Answer bytes are built in a reused scratch buffer (an early return just drops it).
        let mut frames = std::mem::take(&mut self.scratch);
        let garbage = self
            .b
            .args
            .garbage_every
            .is_some_and(|n| self.calls % n == 0);
        if garbage {
            Stats::bump(&self.b.stats.faults);
            frames.extend_from_slice(faults::GARBAGE_LINE);
        }
        let name: &str = &p.name;
        let plan = match name {
            "echo" => {
                echo(&mut frames, idb, p.arguments, args.message);
                Plan::Frames
            }
            "payload" => {
                let n = match size(args.size, self.b.args.payload_bytes) {
                    Ok(n) => n,
                    Err(e) => return self.call_error(idb, &e),
                };
                if args.encoding.as_deref() == Some("base64") {
                    blob(&mut frames, idb, n);
                } else if n == self.b.default_payload.len() {
                    payload(&mut frames, idb, &self.b.default_payload);
                } else {
                    payload(&mut frames, idb, &payload_text(n));
                }
                Plan::Frames
            }
            "sleep" => {
                let d = ms(args.ms, Duration::ZERO);
                work += d;
                text_answer(
                    &mut frames,
                    idb,
                    &format!("slept {} ms", d.as_millis()),
                    b"",
                );
                Plan::Frames
            }
            "late" => {
                let d = ms(args.ms, DEFAULT_LATE);
                late += d;
                text_answer(
                    &mut frames,
                    idb,
                    &format!("late by {} ms", d.as_millis()),
                    b"",
                );
                Plan::Frames
            }
            "log" => {
                let level = args.level.as_deref().unwrap_or("info");
                let data = args
                    .data
                    .map_or(r#""log message from gatekit-mock""#, RawValue::get);
                let params = format!(
                    r#"{{"level":{},"logger":"gatekit-mock","data":{data}}}"#,
                    wire::quoted(level)
                );
                wire::notification(&mut self.out, "notifications/message", params.as_bytes());
                text_answer(&mut frames, idb, "logged", b"");
                Plan::Frames
            }
            "notify" => {
                wire::notification(&mut self.out, "notifications/tools/list_changed", b"{}");
                if let Some(uri) = &args.uri {
                    let params = format!(r#"{{"uri":{}}}"#, wire::quoted(uri));
                    wire::notification(
                        &mut self.out,
                        "notifications/resources/updated",
                        params.as_bytes(),
                    );
                }
                text_answer(&mut frames, idb, "notified", b"");
                Plan::Frames
            }
            "progress" => Plan::Task(TaskKind::Progress {
                steps: args.steps.unwrap_or(3).min(10_000),
                interval: ms(args.interval_ms, Duration::from_millis(10)),
                token: p
                    .meta
                    .and_then(|m| m.progress_token)
                    .map(|t| Bytes::copy_from_slice(t.get().as_bytes())),
            }),
            "sample" | "elicit" | "roots" => {
                let (declared, cap) = match name {
                    "sample" => (self.caps.sampling, "sampling"),
                    "elicit" => (self.caps.elicitation, "elicitation"),
                    _ => (self.caps.roots, "roots"),
                };
                if !declared && !self.b.args.ignore_client_caps {
                    let why = format!("client did not declare the `{cap}` capability");
                    text_answer(&mut frames, idb, &why, br#","isError":true"#);
                    Plan::Frames
                } else {
                    Plan::Task(match name {
                        "sample" => TaskKind::Sample {
                            prompt: args.prompt.as_deref().unwrap_or("Say hello").to_owned(),
                            max_tokens: args.max_tokens.unwrap_or(100),
                        },
                        "elicit" => TaskKind::Elicit {
                            message: wire_message(args.message),
                        },
                        _ => TaskKind::Roots,
                    })
                }
            }
            "stderr_flood" => match size(args.bytes, 1024 * 1024) {
                Ok(bytes) => Plan::Task(TaskKind::StderrFlood { bytes }),
                Err(e) => return self.call_error(idb, &e),
            },
            "never" => Plan::Drop,
            "twice" => {
                Stats::bump(&self.b.stats.faults);
                text_answer(&mut frames, idb, "answered twice", b"");
                let start = frames.len() - frames_last_line_len(&frames);
                let copy = frames[start..].to_vec();
                frames.extend_from_slice(&copy);
                Plan::Frames
            }
            "unknown_id" => {
                Stats::bump(&self.b.stats.faults);
                text_answer(
                    &mut frames,
                    faults::UNKNOWN_ID,
                    "answer for an unknown id",
                    b"",
                );
                text_answer(&mut frames, idb, "answered after an unknown id", b"");
                Plan::Frames
            }
            "garbage" => {
                Stats::bump(&self.b.stats.faults);
                frames.extend_from_slice(faults::GARBAGE_LINE);
                text_answer(&mut frames, idb, "answered after garbage", b"");
                Plan::Frames
            }
            "oversize" => match size(args.bytes, 1024 * 1024) {
                Ok(n) => {
                    Stats::bump(&self.b.stats.faults);
                    faults::oversize(&mut frames, idb, n);
                    Plan::Frames
                }
                Err(e) => return self.call_error(idb, &e),
            },
            "drip" => {
                Stats::bump(&self.b.stats.faults);
                text_answer(&mut frames, idb, "dripped one byte at a time", b"");
                Plan::Drip(ms(args.delay_ms, DEFAULT_DRIP_PAUSE))
            }
            "eof_no_newline" => {
                Stats::bump(&self.b.stats.faults);
                text_answer(&mut frames, idb, "last answer, no newline", b"");
                frames.truncate(frames.len() - 1);
                Plan::Final
            }
            "crash" => {
                self.end = Some(SessionEnd::Crash {
                    code: args.code.unwrap_or(DEFAULT_CRASH_CODE),
                });
                return;
            }
            "close_stdout" => {
                Stats::bump(&self.b.stats.faults);
                self.push_special(Out::Close);
                return;
            }
            "bad_utf8" => {
                Stats::bump(&self.b.stats.faults);
                if args.mode.as_deref() == Some("line") {
                    frames.extend_from_slice(faults::BAD_UTF8_LINE);
                    text_answer(
                        &mut frames,
                        idb,
                        "answered after an invalid UTF-8 line",
                        b"",
                    );
                } else {
                    faults::bad_utf8_answer(&mut frames, idb);
                }
                Plan::Frames
            }
            "stall" => {
                let d = ms(args.ms, Duration::ZERO);
                self.stall.stall_for(d);
                text_answer(
                    &mut frames,
                    idb,
                    &format!("stalled {} ms", d.as_millis()),
                    b"",
                );
                Plan::Frames
            }
            _ => match name
                .strip_prefix("tool_")
                .and_then(|n| n.parse::<usize>().ok())
            {
                Some(n) if n < self.b.catalog.extra_tools && name == format!("tool_{n}") => {
                    echo(&mut frames, idb, p.arguments, args.message);
                    Plan::Frames
                }
                _ => return self.fail(idb, wire::INVALID_PARAMS, &format!("Unknown tool: {name}")),
            },
        };

        // When the answer is ready: serial calls queue behind each other, concurrent ones don't.
        let done = if self.b.args.serial {
            let start = self.serial_free_at.max(now);
            self.serial_free_at = start + work;
            self.serial_free_at
        } else {
            now + work
        };
        let due = done + late;
        let out = match plan {
            Plan::Drop => {
                Stats::bump(&self.b.stats.dropped);
                None
            }
            Plan::Task(kind) => {
                self.out.extend_from_slice(&frames);
                self.spawn_task(id, due, kind);
                None
            }
            Plan::Frames if due <= now => {
                // The hot path: answer in this turn, straight into the turn's output.
                Stats::bump(&self.b.stats.answers);
                self.out.extend_from_slice(&frames);
                None
            }
            Plan::Frames => Some(Out::Bytes(frames.split().freeze())),
            Plan::Drip(pause) => Some(Out::Drip {
                bytes: frames.split().freeze(),
                pause,
            }),
            Plan::Final => Some(Out::Final(frames.split().freeze())),
        };
        if let Some(out) = out {
            let id = Bytes::copy_from_slice(idb);
            if due <= now {
                self.emit_answer(id, out);
            } else {
                self.timers.insert(due, Pending { id, out });
            }
        }
        frames.clear();
        self.scratch = frames;
    }

    /// A tool result with `isError: true` (argument problems are tool errors, not protocol errors).
    fn call_error(&mut self, id: &[u8], why: &str) {
        Stats::bump(&self.b.stats.answers);
        text_answer(&mut self.out, id, why, br#","isError":true"#);
    }
}

/// Length of the last line in `frames` (including its `\n`).
fn frames_last_line_len(frames: &[u8]) -> usize {
    let body = &frames[..frames.len().saturating_sub(1)];
    match memchr::memrchr(b'\n', body) {
        Some(i) => frames.len() - (i + 1),
        None => frames.len(),
    }
}

fn wire_message(message: Option<&RawValue>) -> String {
    message
        .and_then(wire::as_str)
        .map_or_else(|| "Please provide your name".to_owned(), Cow::into_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_line_length() {
        assert_eq!(frames_last_line_len(b"ab\ncde\n"), 4);
        assert_eq!(frames_last_line_len(b"cde\n"), 4);
    }
}
