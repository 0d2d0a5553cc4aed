//! config (placeholder until its implementation lands).
