//! JSON-RPC 2.0 for the data plane: the envelope scan, ids and splicing, and the frames the gateway writes.
//!
//! [`envelope`] reads what routing needs from a frame without a DOM; [`recover`] salvages the id of an
//! oversize line; [`id`] parses the gateway's own ids and splices replacement values into frames without
//! copying; [`error`] is the only writer of JSON-RPC error frames.

pub mod envelope;
pub mod error;
pub mod id;
pub mod recover;

pub use envelope::{scan, split_batch, Envelope, Kind, ScanError, Span, StrField};
pub use error::{code, error_frame, notification_frame, request_frame, result_frame};
pub use id::{json_string, parse_u64_id, splice, u64_id_bytes, MAX_GATEWAY_ID};
pub use recover::{recover_id, Recovered};
