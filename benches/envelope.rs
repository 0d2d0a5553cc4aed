//! The envelope scan: gatekit's `jsonrpc::scan` (one validating `serde_json` pass into borrowed
//! `&RawValue` fields, no DOM) against the two DOM parsers the gateway could have used instead.
//!
//! - `serde_json::Value` (the baseline): the obvious way, a full owned DOM;
//! - `simd-json` borrowed value: SIMD tokenizing, strings borrowed where unescaped. It parses in
//!   place, so each iteration first copies the frame into a reused buffer — the gateway would have
//!   to do the same, because frames are shared, immutable `Bytes`.
//!
//! Every parser extracts the same routing fields (id, method, `params.name`) and the setup checks
//! they all agree, so no variant can win by skipping work. Throughput is frame bytes per second.

#[path = "support/mod.rs"]
mod support;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::{json, Value};
use simd_json::prelude::*;

/// Size class of the large payloads: what MCP servers commonly answer with (file contents,
/// long tool lists), and where Python Gatekit's limit used to break.
const LARGE: usize = 64 << 10;

/// The routing fields as every parser sees them, reduced to plain values so the hot loop does
/// not allocate on top of the parse: the id (an integer in these frames) and the lengths of the
/// decoded `method` and `params.name` strings.
#[derive(Debug, PartialEq, Eq)]
struct Routing {
    id: Option<u64>,
    method: Option<usize>,
    name: Option<usize>,
}

/// A `tools/call` request whose arguments carry a `note` of `note_len` bytes.
fn request(note_len: usize) -> Vec<u8> {
    let v = json!({
        "jsonrpc": "2.0",
        "id": 4217,
        "method": "tools/call",
        "params": {
            "name": "files__read_file",
            "arguments": {"path": "/home/user/project/src/main.rs", "offset": 0, "limit": 2000,
                          "encoding": "utf-8", "note": "n".repeat(note_len)},
            "_meta": {"progressToken": "tok-4217"}
        }
    });
    serde_json::to_vec(&v).expect("serializes")
}

/// A `tools/call` request of 300 bytes, the most common frame a gateway forwards.
fn small_request() -> Vec<u8> {
    let frame = request(300 - request(0).len());
    assert_eq!(frame.len(), 300);
    frame
}

/// A `tools/call` result carrying ~64 KiB of source text (newlines, quotes and tabs escaped).
fn large_text_result() -> Vec<u8> {
    let line = "    let greeting = \"hello, world\"; // say \"hi\"\tto everyone\n";
    let text: String = line.repeat(LARGE / line.len());
    let v = json!({
        "jsonrpc": "2.0",
        "id": 4217,
        "result": {"content": [{"type": "text", "text": text}], "isError": false}
    });
    serde_json::to_vec(&v).expect("serializes")
}

/// A `tools/list` result of ~64 KiB: many tools, each with a description and an input schema.
fn large_tools_list() -> Vec<u8> {
    let tool = |i: usize| {
        json!({
            "name": format!("server__tool_{i}"),
            "description": format!("Tool number {i}: reads, filters and summarises records \
                                    from the data store, returning at most `limit` rows."),
            "inputSchema": {
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "filter expression"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
                    "fields": {"type": "array", "items": {"type": "string"}}
                },
                "required": ["query"]
            }
        })
    };
    let mut tools = Vec::new();
    let mut size = 0;
    while size < LARGE {
        let t = tool(tools.len());
        size += t.to_string().len() + 1;
        tools.push(t);
    }
    let v = json!({"jsonrpc": "2.0", "id": 2, "result": {"tools": tools}});
    serde_json::to_vec(&v).expect("serializes")
}

fn via_scan(frame: &[u8]) -> Routing {
    let env = gatekit::jsonrpc::scan(frame).expect("valid frame");
    Routing {
        id: env
            .id
            .and_then(|s| gatekit::jsonrpc::parse_u64_id(s.of(frame))),
        method: env.method.map(|m| m.len()),
        name: env.name.map(|n| n.value.len()),
    }
}

fn via_value(frame: &[u8]) -> Routing {
    let v: Value = serde_json::from_slice(frame).expect("valid frame");
    Routing {
        id: v.get("id").and_then(Value::as_u64),
        method: v.get("method").and_then(Value::as_str).map(str::len),
        name: v
            .get("params")
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
            .map(str::len),
    }
}

fn via_simd(frame: &[u8], scratch: &mut Vec<u8>, buffers: &mut simd_json::Buffers) -> Routing {
    scratch.clear();
    scratch.extend_from_slice(frame);
    let v = simd_json::to_borrowed_value_with_buffers(scratch, buffers).expect("valid frame");
    Routing {
        id: v.get("id").and_then(|id| id.as_u64()),
        method: v.get_str("method").map(str::len),
        name: v
            .get("params")
            .and_then(|p| p.get_str("name"))
            .map(str::len),
    }
}

fn bench_envelope(c: &mut Criterion) {
    let frames = [
        ("tools-call-request-300B", small_request()),
        ("tools-call-text-result-64KiB", large_text_result()),
        ("tools-list-result-64KiB", large_tools_list()),
    ];
    for (name, frame) in &frames {
        let mut scratch = Vec::with_capacity(frame.len());
        let mut buffers = simd_json::Buffers::new(frame.len());
        let expected = via_value(frame);
        assert_eq!(via_scan(frame), expected, "{name}: scan disagrees");
        assert_eq!(
            via_simd(frame, &mut scratch, &mut buffers),
            expected,
            "{name}: simd-json disagrees"
        );

        let mut group = c.benchmark_group(format!("envelope/{name}"));
        group.throughput(Throughput::Bytes(frame.len() as u64));
        group.bench_function("serde_json::Value (baseline)", |b| {
            b.iter(|| via_value(black_box(frame)))
        });
        group.bench_function("simd-json borrowed", |b| {
            b.iter(|| via_simd(black_box(frame), &mut scratch, &mut buffers))
        });
        group.bench_function("scan", |b| b.iter(|| via_scan(black_box(frame))));
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = bench_envelope
}
criterion_main!(benches);
