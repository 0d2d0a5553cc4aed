//! observe (placeholder until its implementation lands).
