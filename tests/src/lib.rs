//! End-to-end test harness (work in progress).
