//! Parsers for the textual flag values: durations (`20ms`, `1.5s`), service-time distributions
//! (`fixed:20ms`, `uniform:5ms..20ms`, `lognormal:median=2ms,sigma=0.5`) and stall schedules
//! (`500ms@2s`).
//!
//! Invariants: every parser is total (bad text is a [`SpecError`], never a panic), and every
//! accepted duration is at most [`MAX_SPEC_DURATION`].

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::rng::Rng;

/// Upper bound for any duration given on the command line; a day is far beyond any test and keeps
/// float conversions finite.
pub const MAX_SPEC_DURATION: Duration = Duration::from_secs(86_400);

/// A flag value that could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid {what} `{text}`: {why}")]
pub struct SpecError {
    what: &'static str,
    text: String,
    why: &'static str,
}

fn err(what: &'static str, text: &str, why: &'static str) -> SpecError {
    SpecError {
        what,
        text: text.to_owned(),
        why,
    }
}

/// Parses `250us`, `20ms`, `1.5s`, `2m`, `0`; a bare number means milliseconds.
pub fn parse_duration(text: &str) -> Result<Duration, SpecError> {
    const WHAT: &str = "duration";
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().map_err(|_| {
        err(
            WHAT,
            text,
            "expected a number followed by ns, us, ms, s or m",
        )
    })?;
    let scale = match unit.trim() {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "" | "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        _ => return Err(err(WHAT, text, "unknown unit (use ns, us, ms, s or m)")),
    };
    let d =
        Duration::try_from_secs_f64(value * scale).map_err(|_| err(WHAT, text, "out of range"))?;
    if d > MAX_SPEC_DURATION {
        return Err(err(WHAT, text, "longer than a day"));
    }
    Ok(d)
}

/// How long a `tools/call` takes before its answer is ready.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum ServiceTime {
    /// Answer as soon as the request is parsed.
    #[default]
    Zero,
    /// Always the same time.
    Fixed(Duration),
    /// Uniform in `[lo, hi]`.
    Uniform(Duration, Duration),
    /// Log-normal with the given median and shape `sigma`.
    LogNormal {
        /// The distribution's median.
        median: Duration,
        /// Standard deviation of the underlying normal.
        sigma: f64,
    },
}

impl ServiceTime {
    /// Draws one service time.
    pub fn sample(&self, rng: &mut Rng) -> Duration {
        match *self {
            Self::Zero => Duration::ZERO,
            Self::Fixed(d) => d,
            Self::Uniform(lo, hi) => rng.uniform_duration(lo, hi),
            Self::LogNormal { median, sigma } => rng.lognormal_duration(median, sigma),
        }
    }
}

impl FromStr for ServiceTime {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, SpecError> {
        const WHAT: &str = "service time";
        let t = text.trim();
        if t == "0" || t == "none" || t == "zero" {
            return Ok(Self::Zero);
        }
        let (kind, rest) = t.split_once(':').ok_or_else(|| {
            err(
                WHAT,
                text,
                "expected fixed:D, uniform:LO..HI or lognormal:median=D,sigma=S",
            )
        })?;
        match kind {
            "fixed" => Ok(match parse_duration(rest)? {
                Duration::ZERO => Self::Zero,
                d => Self::Fixed(d),
            }),
            "uniform" => {
                let (lo, hi) = rest
                    .split_once("..")
                    .ok_or_else(|| err(WHAT, text, "uniform needs LO..HI"))?;
                let (lo, hi) = (parse_duration(lo)?, parse_duration(hi)?);
                if hi < lo {
                    return Err(err(WHAT, text, "uniform needs LO <= HI"));
                }
                Ok(Self::Uniform(lo, hi))
            }
            "lognormal" => {
                let (mut median, mut sigma) = (None, None);
                for part in rest.split(',') {
                    match part.trim().split_once('=') {
                        Some(("median", v)) => median = Some(parse_duration(v)?),
                        Some(("sigma", v)) => {
                            let s: f64 = v
                                .trim()
                                .parse()
                                .map_err(|_| err(WHAT, text, "sigma must be a number"))?;
                            if !(0.0..=10.0).contains(&s) {
                                return Err(err(WHAT, text, "sigma must be in [0, 10]"));
                            }
                            sigma = Some(s);
                        }
                        _ => return Err(err(WHAT, text, "lognormal takes median=D,sigma=S")),
                    }
                }
                match (median, sigma) {
                    (Some(median), Some(sigma)) => Ok(Self::LogNormal { median, sigma }),
                    _ => Err(err(WHAT, text, "lognormal needs both median and sigma")),
                }
            }
            _ => Err(err(
                WHAT,
                text,
                "unknown distribution (fixed, uniform, lognormal)",
            )),
        }
    }
}

impl fmt::Display for ServiceTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Zero => f.write_str("fixed:0ms"),
            Self::Fixed(d) => write!(f, "fixed:{d:?}"),
            Self::Uniform(lo, hi) => write!(f, "uniform:{lo:?}..{hi:?}"),
            Self::LogNormal { median, sigma } => {
                write!(f, "lognormal:median={median:?},sigma={sigma}")
            }
        }
    }
}

/// "Stall for `length` every `period`": the `k`-th stall covers `[k*period, k*period + length)`
/// after session start, for `k >= 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StallSpec {
    /// How long each stall lasts.
    pub length: Duration,
    /// Time between stall starts.
    pub period: Duration,
}

impl FromStr for StallSpec {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, SpecError> {
        const WHAT: &str = "stall";
        let (length, period) = text
            .split_once('@')
            .ok_or_else(|| err(WHAT, text, "expected LENGTH@PERIOD, e.g. 500ms@2s"))?;
        let (length, period) = (parse_duration(length)?, parse_duration(period)?);
        if period.is_zero() || length >= period {
            return Err(err(
                WHAT,
                text,
                "LENGTH must be shorter than a non-zero PERIOD",
            ));
        }
        Ok(Self { length, period })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("20ms"), Ok(ms(20)));
        assert_eq!(parse_duration("1.5s"), Ok(ms(1500)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(ms(7)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("-5ms").is_err());
        assert!(parse_duration("2000000s").is_err());
    }

    #[test]
    fn service_times_parse() {
        assert_eq!("fixed:20ms".parse(), Ok(ServiceTime::Fixed(ms(20))));
        assert_eq!("fixed:0ms".parse(), Ok(ServiceTime::Zero));
        assert_eq!("none".parse(), Ok(ServiceTime::Zero));
        assert_eq!(
            "uniform:5ms..20ms".parse(),
            Ok(ServiceTime::Uniform(ms(5), ms(20)))
        );
        assert_eq!(
            "lognormal:median=2ms,sigma=0.5".parse(),
            Ok(ServiceTime::LogNormal {
                median: ms(2),
                sigma: 0.5
            })
        );
        assert!("uniform:20ms..5ms".parse::<ServiceTime>().is_err());
        assert!("lognormal:median=2ms".parse::<ServiceTime>().is_err());
        assert!("gaussian:1ms".parse::<ServiceTime>().is_err());
        assert!("fixed".parse::<ServiceTime>().is_err());
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "fixed:20ms",
            "uniform:5ms..20ms",
            "lognormal:median=2ms,sigma=0.5",
        ] {
            let st: ServiceTime = text.parse().expect("valid");
            let again: ServiceTime = st.to_string().parse().expect("display parses back");
            assert_eq!(st, again);
        }
    }

    #[test]
    fn fixed_samples_are_exact_and_uniform_in_range() {
        let mut r = Rng::new(9);
        assert_eq!(ServiceTime::Fixed(ms(3)).sample(&mut r), ms(3));
        assert_eq!(ServiceTime::Zero.sample(&mut r), Duration::ZERO);
        let u = ServiceTime::Uniform(ms(5), ms(6));
        for _ in 0..100 {
            let d = u.sample(&mut r);
            assert!(d >= ms(5) && d <= ms(6));
        }
    }

    #[test]
    fn stall_specs_parse() {
        assert_eq!(
            "500ms@2s".parse(),
            Ok(StallSpec {
                length: ms(500),
                period: ms(2000)
            })
        );
        assert!("2s@500ms".parse::<StallSpec>().is_err());
        assert!("500ms".parse::<StallSpec>().is_err());
        assert!("1ms@0".parse::<StallSpec>().is_err());
    }
}
