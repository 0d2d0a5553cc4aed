//! Settings shared by every gatekit bench.
//!
//! Short warm-up and measurement windows keep a full `cargo bench` within a few minutes on a
//! shared 2-core VM. Absolute numbers drift there anyway (±20 %); what the benches are for is the
//! ratio between gatekit's component and the baseline measured next to it in the same group.
//! Command-line flags (`--measurement-time`, `--sample-size`, `--save-baseline`, ...) still
//! override these.

use std::time::Duration;

use criterion::Criterion;

/// Warm-up per benchmark: enough to fault in buffers and settle the caches.
pub const WARM_UP: Duration = Duration::from_millis(700);

/// Measurement window per benchmark: 2 s gives a few percent of noise on the hot loops here.
pub const MEASUREMENT: Duration = Duration::from_secs(2);

/// Samples per benchmark; criterion's default of 100 would triple the run time for little gain.
pub const SAMPLES: usize = 30;

/// A change smaller than this is reported as noise when comparing against a saved baseline:
/// run-to-run drift on a shared 2-core VM is ±10–20 %, so criterion's default of 1 % would flag
/// every run as a regression or an improvement.
pub const NOISE_THRESHOLD: f64 = 0.10;

/// The criterion configuration every bench group uses.
pub fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(WARM_UP)
        .measurement_time(MEASUREMENT)
        .sample_size(SAMPLES)
        .noise_threshold(NOISE_THRESHOLD)
}
