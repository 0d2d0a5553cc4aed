//! correlation (placeholder until its implementation lands).
