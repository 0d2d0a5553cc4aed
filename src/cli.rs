//! cli (placeholder until its implementation lands).
