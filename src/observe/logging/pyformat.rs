//! Renders log records with a Python `logging` format string (`logging.format`) and a `strftime`
//! date format (`logging.date_format`), so gatekit's log reads like Gatekit's:
//! `2025-01-12 15:30:45 [INFO] gatekit::gateway: upstream started`.
//!
//! Supported: `%(field)[flags][width][.precision]type` with flags `-` (left-align) and `0`
//! (zero-pad numbers), `%%`, and the fields `asctime created msecs relativeCreated levelname
//! levelno name message module filename pathname lineno funcName process processName thread
//! threadName`. `name` is the tracing target; `message` is the event's fields, prefixed by its
//! spans (`upstream{name=fs}: `) since that context would otherwise be lost. A field Python has but
//! tracing cannot know (`funcName`) renders as `?`; an unknown field or malformed spec is kept as
//! literal text rather than failing startup. Times are local, as in Python's default converter.

use std::borrow::Cow;
use std::ffi::{CString, NulError};
use std::fmt;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Gatekit's default `logging.format`.
pub(crate) const DEFAULT_FORMAT: &str = "%(asctime)s [%(levelname)s] %(name)s: %(message)s";
/// Gatekit's default `logging.date_format`.
pub(crate) const DEFAULT_DATE_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Widest field padding honoured: beyond a screen's width it is a typo, and it bounds the padding.
const MAX_FIELD_WIDTH: usize = 1024;
/// Room for one formatted date; `strftime` output beyond it renders as nothing.
const DATE_BUFFER: usize = 256;

/// A parsed format, ready to render events.
#[derive(Debug)]
pub(crate) struct PyFormat {
    parts: Vec<Part>,
    date_format: CString,
    started: Instant,
}

#[derive(Debug, PartialEq)]
enum Part {
    Literal(String),
    Field(Spec),
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Spec {
    field: Field,
    left: bool,
    zero: bool,
    width: usize,
    precision: Option<usize>,
    kind: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    AscTime,
    Created,
    Msecs,
    RelativeCreated,
    LevelName,
    LevelNo,
    Name,
    Message,
    Module,
    FileName,
    PathName,
    LineNo,
    FuncName,
    Process,
    ProcessName,
    Thread,
    ThreadName,
}

impl Field {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "asctime" => Self::AscTime,
            "created" => Self::Created,
            "msecs" => Self::Msecs,
            "relativeCreated" => Self::RelativeCreated,
            "levelname" => Self::LevelName,
            "levelno" => Self::LevelNo,
            "name" => Self::Name,
            "message" => Self::Message,
            "module" => Self::Module,
            "filename" => Self::FileName,
            "pathname" => Self::PathName,
            "lineno" => Self::LineNo,
            "funcName" => Self::FuncName,
            "process" => Self::Process,
            "processName" => Self::ProcessName,
            "thread" => Self::Thread,
            "threadName" => Self::ThreadName,
            _ => return None,
        })
    }
}

enum Value<'a> {
    Str(Cow<'a, str>),
    Int(i64),
    Float(f64),
}

impl PyFormat {
    /// Parses `format` and `date_format` (Gatekit's defaults when absent). Fails only on a NUL
    /// byte in the date format, which `strftime` cannot take.
    pub fn new(format: Option<&str>, date_format: Option<&str>) -> Result<Self, NulError> {
        Ok(Self {
            parts: parse(format.unwrap_or(DEFAULT_FORMAT)),
            date_format: CString::new(date_format.unwrap_or(DEFAULT_DATE_FORMAT))?,
            started: Instant::now(),
        })
    }
}

fn parse(format: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = format;
    while let Some(at) = rest.find('%') {
        literal.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("%%") {
            literal.push('%');
            rest = after;
        } else if let Some((spec, used)) = parse_spec(tail) {
            if !literal.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut literal)));
            }
            parts.push(Part::Field(spec));
            rest = &tail[used..];
        } else {
            literal.push('%');
            rest = &tail[1..];
        }
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(Part::Literal(literal));
    }
    parts
}

/// `%(name)flags width .precision type` at the start of `tail`, and the bytes it spans.
fn parse_spec(tail: &str) -> Option<(Spec, usize)> {
    let inner = tail.strip_prefix("%(")?;
    let close = inner.find(')')?;
    let field = Field::from_name(&inner[..close])?;
    let spec = inner[close + 1..].as_bytes();
    let mut i = 0;
    let (mut left, mut zero) = (false, false);
    while let Some(flag @ (b'#' | b'0' | b'-' | b' ' | b'+')) = spec.get(i) {
        left |= *flag == b'-';
        zero |= *flag == b'0';
        i += 1;
    }
    let digits = |i: &mut usize| {
        let mut n: usize = 0;
        while let Some(d @ b'0'..=b'9') = spec.get(*i) {
            n = n.saturating_mul(10).saturating_add(usize::from(d - b'0'));
            *i += 1;
        }
        n.min(MAX_FIELD_WIDTH)
    };
    let width = digits(&mut i);
    let precision = if spec.get(i) == Some(&b'.') {
        i += 1;
        Some(digits(&mut i))
    } else {
        None
    };
    let kind = *spec.get(i).filter(|k| k.is_ascii_alphabetic())?;
    Some((
        Spec {
            field,
            left,
            zero,
            width,
            precision,
            kind,
        },
        2 + close + 1 + i + 1,
    ))
}

impl<S, N> FormatEvent<S, N> for PyFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let now = SystemTime::now();
        let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let meta = event.metadata();
        for part in &self.parts {
            let spec = match part {
                Part::Literal(text) => {
                    writer.write_str(text)?;
                    continue;
                }
                Part::Field(spec) => spec,
            };
            let value = match spec.field {
                Field::AscTime => {
                    Value::Str(local_time(since_epoch.as_secs(), &self.date_format).into())
                }
                Field::Created => Value::Float(since_epoch.as_secs_f64()),
                Field::Msecs => Value::Int(i64::from(since_epoch.subsec_millis())),
                Field::RelativeCreated => Value::Int(
                    i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX),
                ),
                Field::LevelName => Value::Str(level_name(*meta.level()).into()),
                Field::LevelNo => Value::Int(level_number(*meta.level())),
                Field::Name => Value::Str(meta.target().into()),
                Field::Message => {
                    let mut message = String::new();
                    write_message(ctx, &mut message, event)?;
                    Value::Str(message.into())
                }
                Field::Module => Value::Str(meta.module_path().unwrap_or("?").into()),
                Field::FileName => {
                    let file = meta.file().unwrap_or("?");
                    Value::Str(file.rsplit('/').next().unwrap_or(file).into())
                }
                Field::PathName => Value::Str(meta.file().unwrap_or("?").into()),
                Field::LineNo => Value::Int(meta.line().map_or(0, i64::from)),
                Field::FuncName => Value::Str("?".into()),
                Field::Process => Value::Int(i64::from(std::process::id())),
                Field::ProcessName => Value::Str("MainProcess".into()),
                Field::Thread => Value::Str(thread_number().into()),
                Field::ThreadName => {
                    let current = std::thread::current();
                    Value::Str(current.name().unwrap_or("?").to_owned().into())
                }
            };
            spec.write(&mut writer, value)?;
        }
        writer.write_char('\n')
    }
}

/// Spans from the root (`name{fields}: `), then the event's own fields.
fn write_message<S, N>(
    ctx: &FmtContext<'_, S, N>,
    out: &mut String,
    event: &Event<'_>,
) -> fmt::Result
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    let mut writer = Writer::new(out);
    if let Some(scope) = ctx.event_scope() {
        for span in scope.from_root() {
            writer.write_str(span.name())?;
            let extensions = span.extensions();
            if let Some(fields) = extensions
                .get::<FormattedFields<N>>()
                .filter(|f| !f.is_empty())
            {
                write!(writer, "{{{fields}}}")?;
            }
            writer.write_str(": ")?;
        }
    }
    ctx.format_fields(writer.by_ref(), event)
}

impl Spec {
    fn write(&self, out: &mut Writer<'_>, value: Value<'_>) -> fmt::Result {
        let precision = self.precision;
        let (text, numeric): (Cow<'_, str>, bool) = match (self.kind, value) {
            (b'd' | b'i' | b'u', Value::Int(n)) => (n.to_string().into(), true),
            #[allow(clippy::cast_possible_truncation)]
            (b'd' | b'i' | b'u', Value::Float(x)) => ((x.trunc() as i64).to_string().into(), true),
            #[allow(clippy::cast_precision_loss)]
            (b'f' | b'F', Value::Int(n)) => (
                format!("{:.*}", precision.unwrap_or(6), n as f64).into(),
                true,
            ),
            (b'f' | b'F', Value::Float(x)) => {
                (format!("{:.*}", precision.unwrap_or(6), x).into(), true)
            }
            (_, Value::Int(n)) => (n.to_string().into(), true),
            (_, Value::Float(x)) => (x.to_string().into(), true),
            (b's', Value::Str(s)) => match precision {
                Some(max) => (s.chars().take(max).collect::<String>().into(), false),
                None => (s, false),
            },
            (_, Value::Str(s)) => (s, false),
        };
        let pad = self.width.saturating_sub(text.chars().count());
        if pad == 0 {
            return out.write_str(&text);
        }
        if self.left {
            out.write_str(&text)?;
            return write!(out, "{:pad$}", "");
        }
        if self.zero && numeric {
            let (sign, digits) = text.strip_prefix('-').map_or(("", &*text), |d| ("-", d));
            return write!(out, "{sign}{:0>pad$}{digits}", "");
        }
        write!(out, "{:pad$}{text}", "")
    }
}

/// Python's level names; tracing's TRACE has no Python name and keeps its own.
fn level_name(level: Level) -> &'static str {
    match level {
        Level::TRACE => "TRACE",
        Level::DEBUG => "DEBUG",
        Level::INFO => "INFO",
        Level::WARN => "WARNING",
        Level::ERROR => "ERROR",
    }
}

fn level_number(level: Level) -> i64 {
    match level {
        Level::TRACE => 5,
        Level::DEBUG => 10,
        Level::INFO => 20,
        Level::WARN => 30,
        Level::ERROR => 40,
    }
}

/// The thread's number from its `ThreadId` (stable Rust exposes it only through `Debug`).
fn thread_number() -> String {
    let id = format!("{:?}", std::thread::current().id());
    id.chars().filter(char::is_ascii_digit).collect()
}

/// `strftime(date_format, localtime(secs))`; empty when the time cannot be converted.
fn local_time(secs: u64, date_format: &CString) -> String {
    let Ok(secs) = libc::time_t::try_from(secs) else {
        return String::new();
    };
    // SAFETY: `tm` is plain old data, for which all-zero bytes are a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers refer to live locals; `localtime_r` is the reentrant variant, writing
    // only into `tm`.
    if unsafe { libc::localtime_r(&secs, &mut tm) }.is_null() {
        return String::new();
    }
    let mut buf = [0u8; DATE_BUFFER];
    // SAFETY: `buf` is writable for its full length, which is what we pass; `date_format` is
    // NUL-terminated; `tm` was filled in by `localtime_r`. `strftime` writes at most `len` bytes.
    let len = unsafe {
        libc::strftime(
            buf.as_mut_ptr().cast(),
            buf.len(),
            date_format.as_ptr(),
            &tm,
        )
    };
    String::from_utf8_lossy(&buf[..len.min(buf.len())]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(field: Field, kind: u8) -> Spec {
        Spec {
            field,
            left: false,
            zero: false,
            width: 0,
            precision: None,
            kind,
        }
    }

    #[test]
    fn parses_gatekit_formats() {
        let parts = parse(
            "%(asctime)s.%(msecs)03d [%(levelname)-8s] %(name)s: %(message)s 100%% %(nope)s %",
        );
        let expected = vec![
            Part::Field(spec(Field::AscTime, b's')),
            Part::Literal(".".into()),
            Part::Field(Spec {
                zero: true,
                width: 3,
                ..spec(Field::Msecs, b'd')
            }),
            Part::Literal(" [".into()),
            Part::Field(Spec {
                left: true,
                width: 8,
                ..spec(Field::LevelName, b's')
            }),
            Part::Literal("] ".into()),
            Part::Field(spec(Field::Name, b's')),
            Part::Literal(": ".into()),
            Part::Field(spec(Field::Message, b's')),
            Part::Literal(" 100% %(nope)s %".into()),
        ];
        assert_eq!(parts, expected);
    }

    fn render(spec: Spec, value: Value<'_>) -> String {
        let mut out = String::new();
        let _ = spec.write(&mut Writer::new(&mut out), value);
        out
    }

    #[test]
    fn pads_aligns_and_cuts_like_python() {
        let s = spec(Field::Name, b's');
        assert_eq!(
            render(
                Spec {
                    left: true,
                    width: 7,
                    ..s
                },
                Value::Str("INFO".into())
            ),
            "INFO   "
        );
        assert_eq!(
            render(Spec { width: 7, ..s }, Value::Str("INFO".into())),
            "   INFO"
        );
        assert_eq!(
            render(
                Spec {
                    precision: Some(3),
                    ..s
                },
                Value::Str("WARNING".into())
            ),
            "WAR"
        );
        let d = spec(Field::Msecs, b'd');
        assert_eq!(
            render(
                Spec {
                    zero: true,
                    width: 3,
                    ..d
                },
                Value::Int(7)
            ),
            "007"
        );
        assert_eq!(
            render(
                Spec {
                    zero: true,
                    width: 4,
                    ..d
                },
                Value::Int(-7)
            ),
            "-007"
        );
        let f = spec(Field::Created, b'f');
        assert_eq!(
            render(
                Spec {
                    precision: Some(2),
                    ..f
                },
                Value::Float(1.0 / 3.0)
            ),
            "0.33"
        );
    }

    #[test]
    fn dates_follow_strftime() -> Result<(), NulError> {
        let formatted = local_time(86_400 * 365, &CString::new("%Y|%%")?);
        assert!(
            formatted == "1971|%" || formatted == "1970|%",
            "{formatted}"
        );
        Ok(())
    }
}
