//! Renders one tracing event as a line in the configured Python format, so gatekit's log reads
//! like Gatekit's: `2025-01-12 15:30:45 [INFO] gatekit::gateway: upstream started`.
//!
//! Mapping onto Python's `LogRecord`: `name` is the tracing target; `message` is the event's
//! fields, prefixed by its spans (`upstream{name="fs"}: `), since that context would otherwise be
//! lost; `levelname` uses Python's names (`WARNING`); `funcName`, which tracing cannot know, is
//! `?`. `asctime` is local time through `strftime`, as with Python's default converter.

use super::pyformat::{Field, Part, PyFormat, Value};
use std::ffi::CString;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Room for one formatted date; `strftime` output beyond it renders as nothing.
const DATE_BUFFER: usize = 256;

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
    use std::ffi::NulError;

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
