//! Python `logging` format strings (`logging.format`): the language, parsed once at startup, and
//! how one field value is laid out. Rendering whole events is in the render module.
//!
//! Supported: `%(field)[flags][width][.precision]type` with flags `-` (left-align) and `0`
//! (zero-pad numbers), `%%`, and the fields `asctime created msecs relativeCreated levelname
//! levelno name message module filename pathname lineno funcName process processName thread
//! threadName`. An unknown field or malformed spec is kept as literal text rather than failing
//! startup (Python would fail at the first record instead).

use std::borrow::Cow;
use std::ffi::{CString, NulError};
use std::fmt;
use std::time::Instant;
use tracing_subscriber::fmt::format::Writer;

/// Gatekit's default `logging.format`.
pub(crate) const DEFAULT_FORMAT: &str = "%(asctime)s [%(levelname)s] %(name)s: %(message)s";
/// Gatekit's default `logging.date_format`.
pub(crate) const DEFAULT_DATE_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Widest field padding honoured: beyond a screen's width it is a typo, and it bounds the padding.
const MAX_FIELD_WIDTH: usize = 1024;

/// A parsed format, ready to render events.
#[derive(Debug)]
pub(crate) struct PyFormat {
    pub(super) parts: Vec<Part>,
    /// `strftime` pattern for `asctime`.
    pub(super) date_format: CString,
    /// Origin of `relativeCreated`.
    pub(super) started: Instant,
}

/// A run of literal text, or one `%(...)` field.
#[derive(Debug, PartialEq)]
pub(super) enum Part {
    Literal(String),
    Field(Spec),
}

/// One `%(field)flags width .precision type`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Spec {
    pub(super) field: Field,
    left: bool,
    zero: bool,
    width: usize,
    precision: Option<usize>,
    kind: u8,
}

/// The `LogRecord` attributes gatekit can fill in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
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

/// A field's value, typed so `%d`/`%f`/`%s` format it as Python would.
pub(super) enum Value<'a> {
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
    let spec = &inner.as_bytes()[close + 1..];
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

impl Spec {
    /// Lays `value` out per the spec: conversion, precision, width, alignment.
    pub(super) fn write(&self, out: &mut Writer<'_>, value: Value<'_>) -> fmt::Result {
        let precision = self.precision;
        let (text, numeric): (Cow<'_, str>, bool) = match (self.kind, value) {
            (b'd' | b'i' | b'u', Value::Int(n)) => (n.to_string().into(), true),
            (b'd' | b'i' | b'u', Value::Float(x)) => ((x.trunc() as i64).to_string().into(), true),
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
}
