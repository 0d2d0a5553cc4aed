//! gateway (placeholder until its implementation lands).
