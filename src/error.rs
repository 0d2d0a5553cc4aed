//! error (placeholder until its implementation lands).
