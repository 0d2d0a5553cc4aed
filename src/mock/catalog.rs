//! What the mock offers: its tools, prompts, resources and resource templates, and the paginated
//! list pages for them.
//!
//! Invariants: pages are built once per [`Catalog`] (list calls copy bytes, never re-serialise);
//! cursors are opaque strings valid only for the page that issued them, and any other cursor is
//! rejected (the caller answers -32602).

use bytes::{Bytes, BytesMut};

use super::wire;

/// Prefix of the opaque cursors this mock issues; the page index follows.
const CURSOR_PREFIX: &str = "gatekit-mock/page/";

/// Built-in tools as `(name, description, input schema)`.
const BUILTIN_TOOLS: &[(&str, &str, &str)] = &[
    (
        "echo",
        "Echoes its arguments (text = message); result.echo holds the raw arguments",
        r#"{"type":"object","properties":{"message":{"type":"string"}}}"#,
    ),
    (
        "payload",
        "Returns `size` bytes of text, or a base64 blob",
        r#"{"type":"object","properties":{"size":{"type":"integer"},"encoding":{"type":"string","enum":["text","base64"]}}}"#,
    ),
    (
        "sleep",
        "Works for `ms` milliseconds, then answers",
        r#"{"type":"object","properties":{"ms":{"type":"integer"}},"required":["ms"]}"#,
    ),
    (
        "progress",
        "Sends `steps` progress notifications `interval_ms` apart",
        r#"{"type":"object","properties":{"steps":{"type":"integer"},"interval_ms":{"type":"integer"}}}"#,
    ),
    (
        "log",
        "Sends a notifications/message",
        r#"{"type":"object","properties":{"level":{"type":"string"},"data":{}}}"#,
    ),
    (
        "notify",
        "Sends tools/list_changed and, with uri, resources/updated",
        r#"{"type":"object","properties":{"uri":{"type":"string"}}}"#,
    ),
    (
        "sample",
        "Asks the client for sampling/createMessage",
        r#"{"type":"object","properties":{"prompt":{"type":"string"},"max_tokens":{"type":"integer"}}}"#,
    ),
    (
        "elicit",
        "Asks the client for elicitation/create",
        r#"{"type":"object","properties":{"message":{"type":"string"}}}"#,
    ),
    (
        "roots",
        "Asks the client for roots/list",
        r#"{"type":"object"}"#,
    ),
    ("never", "Fault: never answers", r#"{"type":"object"}"#),
    (
        "late",
        "Fault: answers `ms` late",
        r#"{"type":"object","properties":{"ms":{"type":"integer"}}}"#,
    ),
    ("twice", "Fault: answers twice", r#"{"type":"object"}"#),
    (
        "unknown_id",
        "Fault: answers an unknown id, then the right one",
        r#"{"type":"object"}"#,
    ),
    (
        "garbage",
        "Fault: writes a non-JSON line, then answers",
        r#"{"type":"object"}"#,
    ),
    (
        "oversize",
        "Fault: answers with one line of exactly `bytes` bytes",
        r#"{"type":"object","properties":{"bytes":{"type":"integer"}},"required":["bytes"]}"#,
    ),
    (
        "drip",
        "Fault: writes its answer one byte at a time",
        r#"{"type":"object","properties":{"delay_ms":{"type":"integer"}}}"#,
    ),
    (
        "eof_no_newline",
        "Fault: answers without the newline and exits",
        r#"{"type":"object"}"#,
    ),
    (
        "crash",
        "Fault: exits with `code` without answering",
        r#"{"type":"object","properties":{"code":{"type":"integer"}}}"#,
    ),
    (
        "close_stdout",
        "Fault: closes stdout and keeps running",
        r#"{"type":"object"}"#,
    ),
    (
        "stderr_flood",
        "Fault: writes `bytes` bytes to stderr",
        r#"{"type":"object","properties":{"bytes":{"type":"integer"}}}"#,
    ),
    (
        "bad_utf8",
        "Fault: answers with invalid UTF-8",
        r#"{"type":"object","properties":{"mode":{"type":"string","enum":["answer","line"]}}}"#,
    ),
    (
        "stall",
        "Fault: stalls all processing for `ms`",
        r#"{"type":"object","properties":{"ms":{"type":"integer"}},"required":["ms"]}"#,
    ),
];

/// A prompt's arguments as `(name, required)`.
pub type PromptArgs = &'static [(&'static str, bool)];

/// Prompts as `(name, description, arguments)`.
pub const PROMPTS: &[(&str, &str, PromptArgs)] = &[
    ("greeting", "Greets `name`", &[("name", true)]),
    ("simple", "A prompt without arguments", &[]),
    (
        "summarize",
        "Asks to summarize `text`",
        &[("text", true), ("style", false)],
    ),
];

/// URI template of the dynamic resources.
pub const ITEM_TEMPLATE: &str = "mock://item/{id}";
/// URI prefix of the dynamic resources.
pub const ITEM_PREFIX: &str = "mock://item/";
/// URI prefix of the static resources.
pub const STATIC_PREFIX: &str = "mock://static/";

/// One paginated list, pre-serialised page by page.
#[derive(Debug, Clone)]
pub struct Pages {
    /// Each page's complete result object, e.g. `{"tools":[...],"nextCursor":"..."}`.
    pages: Vec<Bytes>,
}

impl Pages {
    fn build(key: &str, items: &[String], page_size: usize) -> Self {
        let size = if page_size == 0 {
            items.len().max(1)
        } else {
            page_size
        };
        let chunks: Vec<&[String]> = if items.is_empty() {
            vec![&[]]
        } else {
            items.chunks(size).collect()
        };
        let n = chunks.len();
        let pages = chunks
            .into_iter()
            .enumerate()
            .map(|(i, chunk)| {
                let mut b = BytesMut::new();
                b.extend_from_slice(format!("{{\"{key}\":[").as_bytes());
                b.extend_from_slice(chunk.join(",").as_bytes());
                b.extend_from_slice(b"]");
                if i + 1 < n {
                    b.extend_from_slice(b",\"nextCursor\":");
                    wire::json_str(&mut b, &format!("{CURSOR_PREFIX}{}", i + 1));
                }
                b.extend_from_slice(b"}");
                b.freeze()
            })
            .collect();
        Self { pages }
    }

    /// The page a cursor names (`None` = first page); `None` for a cursor we did not issue.
    pub fn page(&self, cursor: Option<&str>) -> Option<&Bytes> {
        let index = match cursor {
            None => 0,
            Some(c) => {
                let n: usize = c.strip_prefix(CURSOR_PREFIX)?.parse().ok()?;
                if n == 0 {
                    return None;
                }
                n
            }
        };
        self.pages.get(index)
    }

    /// Number of pages.
    pub fn len(&self) -> usize {
        self.pages.len()
    }

    /// Always false: an empty list still has one (empty) page.
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }
}

/// Every list the mock serves.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// `tools/list`.
    pub tools: Pages,
    /// `prompts/list`.
    pub prompts: Pages,
    /// `resources/list`.
    pub resources: Pages,
    /// `resources/templates/list`.
    pub templates: Pages,
    /// Number of static resources.
    pub static_resources: usize,
    /// Number of generated `tool_N` tools.
    pub extra_tools: usize,
}

fn tool_json(name: &str, description: &str, schema: &str) -> String {
    format!(
        r#"{{"name":{},"description":{},"inputSchema":{schema}}}"#,
        wire::quoted(name),
        wire::quoted(description)
    )
}

impl Catalog {
    /// Builds every page for the given sizes.
    pub fn new(page_size: usize, extra_tools: usize, static_resources: usize) -> Self {
        let mut tools: Vec<String> = BUILTIN_TOOLS
            .iter()
            .map(|(n, d, s)| tool_json(n, d, s))
            .collect();
        tools.extend((0..extra_tools).map(|i| {
            tool_json(
                &format!("tool_{i}"),
                &format!("Generated tool number {i}; behaves like echo"),
                r#"{"type":"object","properties":{"message":{"type":"string"}}}"#,
            )
        }));
        let prompts: Vec<String> = PROMPTS
            .iter()
            .map(|(name, description, args)| {
                let args: Vec<String> = args
                    .iter()
                    .map(|(a, req)| format!(r#"{{"name":{},"required":{req}}}"#, wire::quoted(a)))
                    .collect();
                format!(
                    r#"{{"name":{},"description":{},"arguments":[{}]}}"#,
                    wire::quoted(name),
                    wire::quoted(description),
                    args.join(",")
                )
            })
            .collect();
        let resources: Vec<String> = (0..static_resources)
            .map(|i| {
                format!(
                    r#"{{"uri":"{STATIC_PREFIX}{i}","name":"static-{i}","mimeType":"text/plain"}}"#
                )
            })
            .collect();
        let templates = vec![format!(
            r#"{{"uriTemplate":"{ITEM_TEMPLATE}","name":"item","mimeType":"text/plain"}}"#
        )];
        Self {
            tools: Pages::build("tools", &tools, page_size),
            prompts: Pages::build("prompts", &prompts, page_size),
            resources: Pages::build("resources", &resources, page_size),
            templates: Pages::build("resourceTemplates", &templates, page_size),
            static_resources,
            extra_tools,
        }
    }

    /// Number of tools in `tools/list`.
    pub fn tool_count(&self) -> usize {
        BUILTIN_TOOLS.len() + self.extra_tools
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(b: &Bytes) -> serde_json::Value {
        serde_json::from_slice(b).expect("page is json")
    }

    #[test]
    fn one_page_without_page_size() {
        let c = Catalog::new(0, 3, 2);
        assert_eq!(c.tools.len(), 1);
        let page = parse(c.tools.page(None).expect("first"));
        assert_eq!(page["tools"].as_array().map(Vec::len), Some(c.tool_count()));
        assert!(page.get("nextCursor").is_none());
        assert_eq!(page["tools"][BUILTIN_TOOLS.len()]["name"], "tool_0");
    }

    #[test]
    fn pages_chain_through_cursors_and_cover_everything_once() {
        let c = Catalog::new(5, 40, 0);
        let mut names = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = parse(c.tools.page(cursor.as_deref()).expect("valid cursor"));
            for t in page["tools"].as_array().expect("array") {
                names.push(t["name"].as_str().expect("name").to_owned());
            }
            match page.get("nextCursor").and_then(|v| v.as_str()) {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(names.len(), c.tool_count());
        let mut dedup = names.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), names.len());
    }

    #[test]
    fn foreign_cursors_are_rejected() {
        let c = Catalog::new(5, 40, 0);
        assert!(c.tools.page(Some("nope")).is_none());
        assert!(c.tools.page(Some(&format!("{CURSOR_PREFIX}0"))).is_none());
        assert!(c.tools.page(Some(&format!("{CURSOR_PREFIX}999"))).is_none());
        assert!(c.tools.page(Some(&format!("{CURSOR_PREFIX}1"))).is_some());
    }

    #[test]
    fn empty_lists_have_one_empty_page() {
        let c = Catalog::new(2, 0, 0);
        let page = parse(c.resources.page(None).expect("page"));
        assert_eq!(page["resources"], serde_json::json!([]));
        assert!(!c.resources.is_empty());
        let t = parse(c.templates.page(None).expect("page"));
        assert_eq!(t["resourceTemplates"][0]["uriTemplate"], ITEM_TEMPLATE);
    }
}
