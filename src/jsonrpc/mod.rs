//! jsonrpc (placeholder until its implementation lands).
