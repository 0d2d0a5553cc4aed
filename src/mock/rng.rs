//! A small seeded PRNG for the mock: SplitMix64 for seeding, xoshiro256** for the stream, and the
//! distributions service times need (uniform, standard normal via Box-Muller, log-normal).
//!
//! Invariants: the same seed always yields the same sequence (benches and tests fix the seed), and
//! no draw can panic: every float is finite and every produced `Duration` is clamped.

use std::time::Duration;

/// Longest duration any distribution may produce; keeps log-normal tails and typos from asking
/// the timer for centuries (and `Duration::from_secs_f64` from panicking).
pub const MAX_SAMPLED_DURATION: Duration = Duration::from_secs(3600);

/// A deterministic xoshiro256** generator seeded through SplitMix64.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
    /// Box-Muller yields normals in pairs; the second one is kept for the next draw.
    spare_normal: Option<f64>,
}

/// One SplitMix64 step: the recommended way to expand a 64-bit seed into xoshiro state.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator whose whole sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        let mut sm = seed;
        let s = [
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
        ];
        Self {
            s,
            spare_normal: None,
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// A uniform float in `[0, 1)` with 53 bits of precision.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p` (clamped to `[0, 1]`).
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.next_f64() < p
    }

    /// A standard normal deviate (Box-Muller).
    pub fn standard_normal(&mut self) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        // 1 - u lies in (0, 1], so ln never sees zero.
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = std::f64::consts::TAU * u2;
        self.spare_normal = Some(r * theta.sin());
        r * theta.cos()
    }

    /// A duration uniform in `[lo, hi]`.
    pub fn uniform_duration(&mut self, lo: Duration, hi: Duration) -> Duration {
        if hi <= lo {
            return lo;
        }
        let span = hi - lo;
        clamp_secs(lo.as_secs_f64() + span.as_secs_f64() * self.next_f64())
    }

    /// A log-normal duration: `median * exp(sigma * Z)`.
    pub fn lognormal_duration(&mut self, median: Duration, sigma: f64) -> Duration {
        let z = self.standard_normal();
        clamp_secs(median.as_secs_f64() * (sigma * z).exp())
    }
}

/// Seconds to a `Duration`, mapping NaN, negatives and overflow into `[0, MAX_SAMPLED_DURATION]`.
fn clamp_secs(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs)
        .unwrap_or(if secs > 0.0 {
            MAX_SAMPLED_DURATION
        } else {
            Duration::ZERO
        })
        .min(MAX_SAMPLED_DURATION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_different_seed_differs() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let mut c = Rng::new(8);
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..8).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[test]
    fn unit_floats_stay_in_range_and_average_near_half() {
        let mut r = Rng::new(1);
        let n = 20_000;
        let mut sum = 0.0;
        for _ in 0..n {
            let x = r.next_f64();
            assert!((0.0..1.0).contains(&x));
            sum += x;
        }
        let mean = sum / f64::from(n);
        assert!((mean - 0.5).abs() < 0.02, "mean {mean}");
    }

    #[test]
    fn normals_have_zero_mean_unit_variance() {
        let mut r = Rng::new(2);
        let n = 20_000;
        let xs: Vec<f64> = (0..n).map(|_| r.standard_normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.05, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "var {var}");
    }

    #[test]
    fn lognormal_median_matches_parameter() {
        let mut r = Rng::new(3);
        let median = Duration::from_millis(2);
        let mut xs: Vec<Duration> = (0..10_001)
            .map(|_| r.lognormal_duration(median, 0.5))
            .collect();
        xs.sort();
        let m = xs[xs.len() / 2].as_secs_f64() * 1000.0;
        assert!((m - 2.0).abs() < 0.1, "median {m} ms");
    }

    #[test]
    fn uniform_durations_stay_within_bounds() {
        let mut r = Rng::new(4);
        let (lo, hi) = (Duration::from_millis(5), Duration::from_millis(20));
        for _ in 0..1000 {
            let d = r.uniform_duration(lo, hi);
            assert!(d >= lo && d <= hi, "{d:?}");
        }
        assert_eq!(r.uniform_duration(hi, lo), hi);
    }

    #[test]
    fn clamping_handles_nan_and_overflow() {
        assert_eq!(clamp_secs(f64::NAN), Duration::ZERO);
        assert_eq!(clamp_secs(-1.0), Duration::ZERO);
        assert_eq!(clamp_secs(1e300), MAX_SAMPLED_DURATION);
        let mut r = Rng::new(5);
        for _ in 0..1000 {
            let d = r.lognormal_duration(Duration::from_secs(1), 1e6);
            assert!(d <= MAX_SAMPLED_DURATION);
        }
    }
}
