//! The raw YAML schema: serde structs mirroring Python Gatekit 0.3.0's `config/models.py`, plus
//! gatekit's extensions, exactly as they appear in the file.
//!
//! Invariants:
//! - Every struct is `deny_unknown_fields`, and [`fields_of`] reads its accepted keys back out of the
//!   derive, so the unknown-key walk in [`super::parse`] and serde can never disagree on a key list.
//! - Every field is optional here, even the required ones: "required" is checked in
//!   [`super::validate`], which can then name the missing key path and skip keys that already had a
//!   type error (a key removed after a type error must not also be reported as missing).
//! - Sections whose contents gatekit walks itself (`plugins`, `proxy.http`, `proxy.upstreams`) stay
//!   [`Value`]s, so one bad upstream does not hide the issues of the next.

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use serde_yaml_ng::Value;
use std::collections::BTreeMap;
use std::fmt;

/// The document root.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRoot {
    pub proxy: Option<RawProxy>,
    pub plugins: Option<Value>,
    pub logging: Option<RawLogging>,
}

/// `proxy:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProxy {
    pub transport: Option<String>,
    pub hot_reload: Option<String>,
    /// A list of upstream mappings, or a single mapping (Gatekit wraps it).
    pub upstreams: Option<Value>,
    pub timeouts: Option<RawTimeouts>,
    /// Client-facing HTTP listener: only meaningful with `transport: http`, which is not supported yet.
    pub http: Option<Value>,
    /// Extension: frame size limit in bytes.
    pub max_message_bytes: Option<u64>,
    /// Extension: in-flight request limit per upstream.
    pub max_in_flight: Option<u64>,
}

/// `proxy.timeouts:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTimeouts {
    pub connection_timeout: Option<Number>,
    pub request_timeout: Option<Number>,
    /// Extension: how long shutdown waits for in-flight requests and children.
    pub shutdown_grace: Option<Number>,
}

/// One entry of `proxy.upstreams`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUpstream {
    pub name: Option<String>,
    pub enabled: Option<Flag>,
    pub transport: Option<String>,
    pub command: Option<Vec<String>>,
    pub url: Option<Value>,
    pub tls_verify: Option<Flag>,
    pub restart_on_failure: Option<Flag>,
    pub max_restart_attempts: Option<u32>,
    pub server_identity: Option<String>,
    pub sandbox: Option<RawSandbox>,
    /// Extension: environment variables added to the inherited environment.
    pub env: Option<BTreeMap<String, String>>,
    /// Extension: working directory of the child.
    pub cwd: Option<String>,
    /// Extension: overrides `proxy.timeouts.request_timeout` for this upstream.
    pub request_timeout: Option<Number>,
    /// Extension: overrides `proxy.max_in_flight` for this upstream.
    pub max_in_flight: Option<u64>,
}

/// `proxy.upstreams[i].sandbox:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSandbox {
    pub enabled: Option<Flag>,
    pub paths: Option<Vec<String>>,
    /// Type-checked only: sandboxing is not implemented, and `enabled: true` is rejected.
    #[allow(dead_code)]
    pub network: Option<Flag>,
}

/// `logging:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLogging {
    pub level: Option<String>,
    pub handlers: Option<Vec<String>>,
    pub file_path: Option<String>,
    pub max_file_size_mb: Option<Number>,
    pub backup_count: Option<u32>,
    pub format: Option<String>,
    pub date_format: Option<String>,
}

/// A boolean as Gatekit's YAML loader (PyYAML, YAML 1.1) reads it: `true`/`false` and also
/// `yes`/`no`/`on`/`off` in their three spellings. serde_yaml_ng follows YAML 1.2, where those are
/// strings; accepting them keeps files written for Gatekit loading unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flag(pub bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FlagVisitor;
        impl Visitor<'_> for FlagVisitor {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a boolean (true or false)")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Flag, E> {
                Ok(Flag(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Flag, E> {
                match v {
                    "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Ok(Flag(true)),
                    "no" | "No" | "NO" | "off" | "Off" | "OFF" => Ok(Flag(false)),
                    _ => Err(E::invalid_type(de::Unexpected::Str(v), &self)),
                }
            }
        }
        deserializer.deserialize_any(FlagVisitor)
    }
}

/// A number as written in the file, an integer or a float (seconds, megabytes): Gatekit's pydantic
/// models take both. Range checks happen in validation, where the key path is known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Number(pub f64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NumberVisitor;
        impl Visitor<'_> for NumberVisitor {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                // Precision loss above 2^53 is irrelevant: validation caps every number far below.
                Ok(Number(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number(v))
            }
        }
        deserializer.deserialize_any(NumberVisitor)
    }
}

/// The keys a serde-derived struct accepts, read from the derive itself (serde hands them to
/// `deserialize_struct`), so no hand-kept list can drift from the struct.
pub(crate) fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut captured: &'static [&'static str] = &[];
    // The probe always fails by design: it only records the field list on the way.
    let _ = T::deserialize(FieldProbe(&mut captured));
    captured
}

/// A deserializer that records the field list of the struct asked of it, then bails out.
struct FieldProbe<'a>(&'a mut &'static [&'static str]);

impl<'de> Deserializer<'de> for FieldProbe<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("field probe"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(de::Error::custom("field probe"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_lists_come_from_the_derive() {
        assert_eq!(fields_of::<RawRoot>(), ["proxy", "plugins", "logging"]);
        assert!(fields_of::<RawUpstream>().contains(&"server_identity"));
        assert!(fields_of::<RawTimeouts>().contains(&"shutdown_grace"));
        assert_eq!(fields_of::<RawSandbox>(), ["enabled", "paths", "network"]);
    }

    #[test]
    fn flags_accept_yaml_1_1_spellings() {
        let parse = |s: &str| serde_yaml_ng::from_str::<Flag>(s).map(|f| f.0).ok();
        assert_eq!(parse("true"), Some(true));
        assert_eq!(parse("Off"), Some(false));
        assert_eq!(parse("YES"), Some(true));
        assert_eq!(parse("maybe"), None);
        assert_eq!(parse("1"), None);
    }

    #[test]
    fn numbers_accept_ints_and_floats_only() {
        let parse = |s: &str| serde_yaml_ng::from_str::<Number>(s).map(|f| f.0).ok();
        assert_eq!(parse("60"), Some(60.0));
        assert_eq!(parse("0.25"), Some(0.25));
        assert_eq!(parse("-3"), Some(-3.0));
        assert_eq!(parse("\"60\""), None);
    }
}
