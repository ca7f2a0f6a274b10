//! The one error of sealing and opening.

/// Why a sealed key could not be made or used.
///
/// # Security
///
/// Opaque on purpose: a header that is not one, a ciphertext that does not open, and one that
/// opens only for another request are the same [`SealError::Invalid`], so a failure says
/// nothing about the key or about which check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// Not a version-1 sealed key for this request (malformed, tampered, or another request's).
    #[error("the sealed key is not valid for this request")]
    Invalid,
    /// The proxy's public key is not an X25519 key, or the key to seal is empty or too long.
    #[error("cannot seal: {0}")]
    Unusable(&'static str),
    /// The platform gave no random bytes.
    #[error("no random source")]
    NoRandom,
}
