//! Scraping a Prometheus endpoint during a run: a minimal HTTP/1.1 GET and a 1 s sampler task.
//!
//! Owns: [`http_get`] (plain HTTP only, `Connection: close`, chunked or length-delimited bodies)
//! and [`MetricsSampler`]. Invariants: every scrape is bounded in time ([`SCRAPE_TIMEOUT`]) and
//! size ([`MAX_SCRAPE_BYTES`]); a failed scrape is counted and never fails the run; the sampler
//! is one task per run, stopped by [`MetricsSampler::finish`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

use crate::prom::{in_flight, loop_lag_p99, parse, Exposition};

/// How often the endpoint is sampled.
pub const SCRAPE_EVERY: Duration = Duration::from_secs(1);
/// Bound on one scrape (connect, request, response), below the sampling interval.
const SCRAPE_TIMEOUT: Duration = Duration::from_millis(900);
/// Largest metrics page accepted.
const MAX_SCRAPE_BYTES: usize = 8 * 1024 * 1024;

/// Scrape failures.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    /// Not a plain `http://host:port/path` URL.
    #[error("metrics URL must be http://HOST:PORT/PATH, got `{0}`")]
    Url(String),
    /// Network failure.
    #[error("metrics scrape: {0}")]
    Io(#[from] std::io::Error),
    /// Took too long.
    #[error("metrics scrape timed out")]
    Timeout,
    /// Not a 200 response or not parsable HTTP.
    #[error("metrics scrape: {0}")]
    Http(String),
    /// The body is not valid exposition text.
    #[error(transparent)]
    Parse(#[from] crate::prom::PromError),
}

/// Splits `http://host:port/path` into (`host:port`, `host`, `/path`).
pub fn split_url(url: &str) -> Result<(String, String, String), ScrapeError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| ScrapeError::Url(url.into()))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(ScrapeError::Url(url.into()));
    }
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok());
    let addr = if has_port {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    Ok((addr, authority.to_string(), path.to_string()))
}

/// GETs `url` and returns the body.
pub async fn http_get(url: &str) -> Result<String, ScrapeError> {
    let (addr, host, path) = split_url(url)?;
    let fut = async {
        let mut s = TcpStream::connect(addr.as_str()).await?;
        let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/plain\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await?;
        let mut raw = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = s.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&chunk[..n]);
            if raw.len() > MAX_SCRAPE_BYTES {
                return Err(ScrapeError::Http("response too large".into()));
            }
        }
        decode_response(&raw)
    };
    tokio::time::timeout(SCRAPE_TIMEOUT, fut)
        .await
        .map_err(|_| ScrapeError::Timeout)?
}

/// Decodes an HTTP/1.1 response read to EOF: status must be 200; chunked bodies are joined.
pub fn decode_response(raw: &[u8]) -> Result<String, ScrapeError> {
    let bad = |m: &str| ScrapeError::Http(m.to_string());
    let split = memchr::memmem::find(raw, b"\r\n\r\n").ok_or_else(|| bad("no header end"))?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|_| bad("non-UTF-8 headers"))?;
    let body = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let code = status.split_whitespace().nth(1).unwrap_or_default();
    if !status.starts_with("HTTP/1.") || code != "200" {
        return Err(ScrapeError::Http(format!("status line `{status}`")));
    }
    let mut chunked = false;
    let mut length = None;
    for h in lines {
        let Some((k, v)) = h.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
        if k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked") {
            chunked = true;
        } else if k == "content-length" {
            length = v.parse::<usize>().ok();
        }
    }
    let body = if chunked {
        let mut out = Vec::new();
        let mut rest = body;
        loop {
            let eol =
                memchr::memmem::find(rest, b"\r\n").ok_or_else(|| bad("truncated chunk size"))?;
            let size_txt = std::str::from_utf8(&rest[..eol]).map_err(|_| bad("bad chunk size"))?;
            let size_txt = size_txt.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size_txt, 16).map_err(|_| bad("bad chunk size"))?;
            rest = &rest[eol + 2..];
            if size == 0 {
                break;
            }
            if rest.len() < size + 2 {
                return Err(bad("truncated chunk"));
            }
            out.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
        out
    } else {
        match length {
            Some(n) if n <= body.len() => body[..n].to_vec(),
            Some(_) => return Err(bad("truncated body")),
            None => body.to_vec(),
        }
    };
    String::from_utf8(body).map_err(|_| bad("non-UTF-8 body"))
}

/// One sample of the gateway's health.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MetricsPoint {
    /// Seconds since sampling began.
    pub t_s: f64,
    /// Loop-lag p99 in seconds, if exported.
    pub loop_lag_p99_s: Option<f64>,
    /// In-flight requests, if exported.
    pub in_flight: Option<f64>,
}

/// All samples of one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MetricsSeries {
    /// The endpoint.
    pub url: String,
    /// Successful samples.
    pub points: Vec<MetricsPoint>,
    /// Failed scrapes.
    pub failed_scrapes: u64,
    /// The last failure, if any.
    pub last_error: Option<String>,
}

impl MetricsSeries {
    /// Highest loop-lag p99 seen (s).
    pub fn loop_lag_p99_max(&self) -> Option<f64> {
        self.points
            .iter()
            .filter_map(|p| p.loop_lag_p99_s)
            .reduce(f64::max)
    }

    /// Highest in-flight count seen.
    pub fn in_flight_max(&self) -> Option<f64> {
        self.points
            .iter()
            .filter_map(|p| p.in_flight)
            .reduce(f64::max)
    }
}

/// Samples an endpoint every [`SCRAPE_EVERY`] until finished.
#[derive(Debug)]
pub struct MetricsSampler {
    stop: Arc<Notify>,
    task: tokio::task::JoinHandle<MetricsSeries>,
}

impl MetricsSampler {
    /// Starts sampling `url`.
    pub fn start(url: String) -> Self {
        let stop = Arc::new(Notify::new());
        let stop2 = stop.clone();
        let task = tokio::spawn(async move {
            let mut series = MetricsSeries {
                url: url.clone(),
                ..MetricsSeries::default()
            };
            let t0 = Instant::now();
            let mut prev: Option<Exposition> = None;
            let mut tick = tokio::time::interval(SCRAPE_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                // Cancel safety: `tick` and `notified` are cancel-safe; a scrape in progress is
                // not inside the select, so it is never cut off half way.
                tokio::select! {
                    biased;
                    () = stop2.notified() => break,
                    _ = tick.tick() => {}
                }
                match http_get(&url).await.and_then(|body| Ok(parse(&body)?)) {
                    Ok(e) => {
                        series.points.push(MetricsPoint {
                            t_s: t0.elapsed().as_secs_f64(),
                            loop_lag_p99_s: loop_lag_p99(&e, prev.as_ref()),
                            in_flight: in_flight(&e),
                        });
                        prev = Some(e);
                    }
                    Err(e) => {
                        series.failed_scrapes += 1;
                        series.last_error = Some(e.to_string());
                    }
                }
            }
            series
        });
        Self { stop, task }
    }

    /// Stops sampling and returns the series.
    pub async fn finish(self) -> MetricsSeries {
        self.stop.notify_one();
        self.task.await.unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls() {
        let (a, h, p) = split_url("http://127.0.0.1:9090/metrics").unwrap();
        assert_eq!(
            (a.as_str(), h.as_str(), p.as_str()),
            ("127.0.0.1:9090", "127.0.0.1:9090", "/metrics"),
            "Host carries the port"
        );
        assert_eq!(split_url("http://localhost").unwrap().0, "localhost:80");
        assert!(split_url("https://x/metrics").is_err());
    }

    #[test]
    fn decodes_chunked_and_length_bodies() {
        let r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab c\r\n3;x=y\r\n\nd\n\r\n0\r\n\r\n";
        assert_eq!(decode_response(r).unwrap(), "ab c\nd\n");
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef";
        assert_eq!(decode_response(r).unwrap(), "abc");
        assert!(decode_response(b"HTTP/1.1 404 Not Found\r\n\r\n").is_err());
    }
}
