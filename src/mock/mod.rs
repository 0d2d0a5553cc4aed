//! mock (placeholder until its implementation lands).
