//! transport (placeholder until its implementation lands).
