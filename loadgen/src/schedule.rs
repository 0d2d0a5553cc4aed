//! When requests are sent: the load model and, for open loop, every request's scheduled time.
//!
//! Owns: [`LoadModel`], [`Plan`] (when issuing stops, what counts as warm-up) and
//! [`Arrivals`] (fixed-interval or Poisson send times). Invariants: scheduled times are
//! nanoseconds since the run's start, non-decreasing, and a pure function of (rate, seed), so
//! the schedule never bends to the target's speed — that is what makes corrected latency honest.

use crate::rng::Rng;

/// How load is offered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LoadModel {
    /// Open loop: requests arrive at `rate` per second regardless of responses.
    Open {
        /// Requests per second.
        rate: f64,
        /// Exponential gaps (Poisson process) instead of a fixed interval.
        poisson: bool,
    },
    /// Closed loop: keep exactly `concurrency` requests in flight.
    Closed {
        /// Requests in flight.
        concurrency: u32,
    },
}

impl LoadModel {
    /// Whether this is an open-loop model (corrected latency exists).
    pub fn is_open(&self) -> bool {
        matches!(self, Self::Open { .. })
    }
}

/// When issuing stops and which requests are measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Requests scheduled (open) or issued (closed) before this offset are warm-up.
    pub warmup_ns: u64,
    /// Stop issuing at `warmup_ns + measure_ns`.
    pub measure_ns: Option<u64>,
    /// Stop issuing after this many measured requests.
    pub measured_requests: Option<u64>,
}

impl Plan {
    /// Whether a request at `t_ns` (scheduled or issued) is measured.
    pub fn is_measured(&self, t_ns: u64) -> bool {
        t_ns >= self.warmup_ns
    }

    /// Whether a request at `t_ns` that would be the `measured_so_far + 1`-th measured one may
    /// still be issued.
    pub fn may_issue(&self, t_ns: u64, measured_so_far: u64) -> bool {
        if let Some(m) = self.measure_ns {
            if t_ns >= self.warmup_ns.saturating_add(m) {
                return false;
            }
        }
        if let Some(n) = self.measured_requests {
            if self.is_measured(t_ns) && measured_so_far >= n {
                return false;
            }
        }
        true
    }
}

/// Open-loop send times.
#[derive(Debug, Clone)]
pub struct Arrivals {
    gap_ns: f64,
    poisson: Option<Rng>,
    k: u64,
    next_ns: f64,
}

impl Arrivals {
    /// Arrivals at `rate` per second; Poisson gaps drawn from `seed` when `poisson`.
    pub fn new(rate: f64, poisson: bool, seed: u64) -> Self {
        let gap_ns = 1e9 / rate;
        let mut a = Self {
            gap_ns,
            poisson: poisson.then(|| Rng::new(seed, 0xA881_7A15)),
            k: 0,
            next_ns: 0.0,
        };
        if let Some(r) = a.poisson.as_mut() {
            a.next_ns = r.exponential(gap_ns);
        }
        a
    }

    /// The scheduled time of the next request, in ns since the start.
    pub fn peek(&self) -> u64 {
        self.next_ns as u64
    }

    /// Consumes the next scheduled time.
    pub fn advance(&mut self) {
        self.k += 1;
        match self.poisson.as_mut() {
            Some(r) => self.next_ns += r.exponential(self.gap_ns),
            // Multiply, never accumulate: no drift over millions of requests.
            None => self.next_ns = self.k as f64 * self.gap_ns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_rate_is_exact_and_does_not_drift() {
        let mut a = Arrivals::new(3.0, false, 0);
        let mut ts = Vec::new();
        for _ in 0..4 {
            ts.push(a.peek());
            a.advance();
        }
        assert_eq!(ts, vec![0, 333_333_333, 666_666_666, 1_000_000_000]);
        let mut a = Arrivals::new(20_000.0, false, 0);
        for _ in 0..2_000_000 {
            a.advance();
        }
        assert_eq!(a.peek(), 100_000_000_000);
    }

    #[test]
    fn poisson_is_seeded_monotonic_and_has_the_rate() {
        let run = |seed| {
            let mut a = Arrivals::new(1000.0, true, seed);
            (0..10_000)
                .map(|_| {
                    let t = a.peek();
                    a.advance();
                    t
                })
                .collect::<Vec<_>>()
        };
        let x = run(1);
        assert_eq!(x, run(1));
        assert_ne!(x, run(2));
        assert!(x.windows(2).all(|w| w[0] <= w[1]));
        let secs = *x.last().unwrap() as f64 / 1e9;
        assert!(
            (secs - 10.0).abs() < 0.5,
            "10k arrivals at 1000/s took {secs}s"
        );
    }

    #[test]
    fn plan_stops_on_duration_or_count() {
        let p = Plan {
            warmup_ns: 10,
            measure_ns: Some(100),
            measured_requests: None,
        };
        assert!(!p.is_measured(9));
        assert!(p.may_issue(109, 1_000_000));
        assert!(!p.may_issue(110, 0));
        let p = Plan {
            warmup_ns: 10,
            measure_ns: None,
            measured_requests: Some(3),
        };
        assert!(p.may_issue(5, 3), "warm-up requests do not count");
        assert!(p.may_issue(50, 2));
        assert!(!p.may_issue(50, 3));
    }
}
