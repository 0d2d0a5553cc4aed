//! framing (placeholder until its implementation lands).
