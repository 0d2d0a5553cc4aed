//! Any byte string, decoded into a sequence of table operations, gives exactly the answers of the
//! `HashMap` reference model: fresh keys, stale keys never matching, full-table rejection,
//! slot-order `expire`/`drain`/`find`, `len`, `next_deadline`, and every value dropped exactly
//! once. The decoder and the model live in `gatekit::correlation::model`, shared with the
//! property tests; this target only lets libFuzzer steer the byte strings.
#![no_main]

use gatekit::correlation::model::{check_ops_against_model, ops_from_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| check_ops_against_model(&ops_from_bytes(data)));
