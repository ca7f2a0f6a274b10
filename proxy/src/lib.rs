//! byok-proxy (work in progress).
