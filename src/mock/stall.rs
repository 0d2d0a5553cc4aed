//! [`StallGate`]: "stop processing now": the periodic `--stall`, the one-shot
//! `--stall-once-after`, and the `stall` tool. The session loop waits at the gate before handling
//! each event and the writer before each write, so nothing is read, handled or written while a
//! stall lasts (timers keep running, which is what coordinated-omission tests need).
//!
//! Invariant: times are measured from the session's start on tokio's clock, so paused-time tests
//! see exact windows.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::{sleep_until, Instant};

use super::spec::StallSpec;

/// The stall schedule of one session.
#[derive(Debug)]
pub struct StallGate {
    start: Instant,
    periodic: Option<StallSpec>,
    once: Option<(Duration, Duration)>,
    /// End of a tool-requested stall, in nanoseconds after `start` (0 = none).
    manual_until_ns: AtomicU64,
}

impl StallGate {
    /// A gate whose clock starts now.
    pub fn new(periodic: Option<StallSpec>, once: Option<(Duration, Duration)>) -> Self {
        Self {
            start: Instant::now(),
            periodic,
            once,
            manual_until_ns: AtomicU64::new(0),
        }
    }

    /// Stalls everything from now for `length` (extends, never shortens, a running stall).
    pub fn stall_for(&self, length: Duration) {
        let until = self.start.elapsed() + length;
        let ns = u64::try_from(until.as_nanos()).unwrap_or(u64::MAX);
        self.manual_until_ns.fetch_max(ns, Ordering::Relaxed);
    }

    /// If a stall covers `now`, when it ends.
    pub fn stalled_until(&self, now: Instant) -> Option<Instant> {
        let elapsed = now.saturating_duration_since(self.start);
        let mut until: Option<Duration> = None;
        let mut extend = |end: Duration| until = Some(until.map_or(end, |u| u.max(end)));
        let manual = Duration::from_nanos(self.manual_until_ns.load(Ordering::Relaxed));
        if manual > elapsed {
            extend(manual);
        }
        if let Some((after, length)) = self.once {
            if elapsed >= after && elapsed < after + length {
                extend(after + length);
            }
        }
        if let Some(StallSpec { length, period }) = self.periodic {
            let k = elapsed.as_nanos() / period.as_nanos();
            let phase = elapsed.as_nanos() % period.as_nanos();
            if k >= 1 && phase < length.as_nanos() {
                extend(elapsed + length - Duration::from_nanos(phase as u64));
            }
        }
        until.map(|u| self.start + u)
    }

    /// Returns once no stall covers the current time.
    pub async fn wait_clear(&self) {
        while let Some(until) = self.stalled_until(Instant::now()) {
            sleep_until(until).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[tokio::test(start_paused = true)]
    async fn periodic_windows_start_at_each_period() {
        let g = StallGate::new(
            Some(StallSpec {
                length: ms(500),
                period: ms(2000),
            }),
            None,
        );
        let t0 = g.start;
        assert_eq!(g.stalled_until(t0 + ms(100)), None);
        assert_eq!(g.stalled_until(t0 + ms(2100)), Some(t0 + ms(2500)));
        assert_eq!(g.stalled_until(t0 + ms(2500)), None);
        assert_eq!(g.stalled_until(t0 + ms(4000)), Some(t0 + ms(4500)));
        tokio::time::advance(ms(2200)).await;
        g.wait_clear().await;
        assert_eq!(t0.elapsed(), ms(2500));
    }

    #[tokio::test(start_paused = true)]
    async fn once_and_manual_stalls() {
        let g = StallGate::new(None, Some((ms(1000), ms(300))));
        let t0 = g.start;
        assert_eq!(g.stalled_until(t0 + ms(999)), None);
        assert_eq!(g.stalled_until(t0 + ms(1000)), Some(t0 + ms(1300)));
        assert_eq!(g.stalled_until(t0 + ms(5000)), None);
        g.stall_for(ms(200));
        assert_eq!(g.stalled_until(t0), Some(t0 + ms(200)));
        g.stall_for(ms(50));
        assert_eq!(g.stalled_until(t0), Some(t0 + ms(200)), "never shortened");
        g.wait_clear().await;
        assert_eq!(t0.elapsed(), ms(200));
    }
}
