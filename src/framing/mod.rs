//! Framing: newline-delimited frames in, batched frames out.
//!
//! [`codec`] cuts a byte stream into [`Frame`]s without copying (one frame = one [`bytes::Bytes`] sliced
//! out of the read buffer), with a mandatory size limit and discard-to-newline recovery. [`writer`] owns
//! one sink per task and drains its bounded channel into as few writes as possible.

pub mod codec;
pub mod writer;

pub use codec::{split_all, Frame, LineCodec, DEFAULT_MAX_MESSAGE_BYTES, OVERSIZE_PREFIX_BYTES};
pub use writer::{
    frame_channel, run_writer, FrameRx, FrameTx, OutFrame, WriterExit, WriterStats,
    DIRECT_WRITE_BYTES, FRAME_CHANNEL_CAPACITY, WRITE_BATCH_BYTES,
};
