//! Locking a mutex, poisoned or not.

/// Locks `mutex`, poisoned or not. Everything behind our locks (counters, rate-limit buckets,
/// idle connections) is updated in steps that leave it consistent, so a panic elsewhere while
/// holding one leaves nothing to repair.
pub fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
