//! shutdown (placeholder until its implementation lands).
