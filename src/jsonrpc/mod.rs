//! jsonrpc (in progress).
