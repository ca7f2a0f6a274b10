//! The one error type of the vault, and why a key was refused (a part of it).

use byok_providers::Provider;

/// Everything that can go wrong in the vault.
///
/// # Security
///
/// No variant carries a password, a key or decrypted data, so every message is safe to show a
/// user or write to a log. Wrong passwords and tampered ciphertext are deliberately the same
/// [`VaultError::Decrypt`]: telling them apart would help an attacker.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VaultError {
    /// The vault is locked (explicitly, by the idle timer, or in another tab).
    #[error("the vault is locked")]
    Locked,
    /// There is no vault in this browser profile yet.
    #[error("no vault exists yet; create one first")]
    NotCreated,
    /// `create` was called but a vault already exists.
    #[error("a vault already exists; unlock it or reset it first")]
    AlreadyExists,
    /// Wrong password, or stored data that fails authentication. Deliberately not more specific.
    #[error("wrong password or damaged vault data")]
    Decrypt,
    /// Stored key-derivation parameters are below the floor; refusing protects against a
    /// tampered record that tries to weaken the password hashing.
    #[error("the stored key-derivation settings are weaker than allowed; refusing to use them")]
    WeakKdf,
    /// A record or backup written by a newer version of byok.
    #[error("data format {0} comes from a newer version of byok; update byok to read it")]
    UnsupportedFormat(u32),
    /// A backup file that does not open: a wrong backup password, a file changed or cut short,
    /// or not a byok backup at all. Deliberately not more specific, like [`VaultError::Decrypt`].
    #[error("wrong backup password, or the file is damaged or not a byok backup")]
    BackupUnreadable,
    /// The provider key does not have the right shape.
    #[error("{0}")]
    InvalidKey(#[from] KeyShapeError),
    /// A caller-supplied argument is not acceptable; the message says which and why.
    #[error("{0}")]
    InvalidInput(String),
    /// No key with this id is stored (or it was removed).
    #[error("no saved key has the id {0:?}")]
    NotFound(String),
    /// The key asked for is turned off or past its expiry date, so it is not sent.
    #[error("{}", if *.expired { "that key has expired; replace it or change its expiry date" } else { "that key is turned off; turn it on to use it" })]
    KeyOff {
        /// Expired rather than turned off.
        expired: bool,
    },
    /// Asked before a replacement, the provider refused the new key (its HTTP status); nothing
    /// was changed.
    #[error("the provider rejected the new key (status {0}); nothing was changed")]
    KeyRejected(u16),
    /// A request needs a key for a provider that has none it may send (none saved, or every
    /// one turned off or expired).
    #[error("no key is saved for {} (or every one is turned off or expired)", .0.display_name())]
    NoKey(Provider),
    /// The browser storage failed; nothing was changed.
    #[error("browser storage failed: {0}")]
    Storage(String),
    /// The proxy answered a key test with an error (its message, which never holds a key).
    #[error("the key could not be tested: {0}")]
    Proxy(String),
    /// A request through the proxy failed before any answer: network down, proxy not
    /// running, or a redirect refused. The message says which when the browser tells.
    #[error("{0}")]
    Unreachable(String),
    /// A passkey could not be used: WebAuthn is unavailable, the person cancelled, or the
    /// authenticator lacks the PRF extension. The message says which, in words.
    #[error("{0}")]
    Passkey(String),
    /// The caller aborted the request (an `AbortSignal` in the request options).
    #[error("the request was cancelled")]
    Aborted,
    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    Random,
}

impl VaultError {
    /// A stable machine-readable code, for apps that react to specific failures.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Locked => "locked",
            Self::NotCreated => "not_created",
            Self::AlreadyExists => "already_exists",
            Self::Decrypt => "decrypt",
            Self::WeakKdf => "weak_kdf",
            Self::UnsupportedFormat(_) => "unsupported_format",
            Self::BackupUnreadable => "backup_unreadable",
            Self::InvalidKey(_) => "invalid_key",
            Self::InvalidInput(_) => "invalid_input",
            Self::NotFound(_) => "not_found",
            Self::KeyOff { .. } => "key_off",
            Self::KeyRejected(_) => "key_rejected",
            Self::NoKey(_) => "no_key",
            Self::Storage(_) => "storage",
            Self::Proxy(_) => "proxy",
            Self::Unreachable(_) => "unreachable",
            Self::Passkey(_) => "passkey",
            Self::Aborted => "aborted",
            Self::Random => "random",
        }
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = VaultError> = std::result::Result<T, E>;

/// Why a key was refused. Messages describe the problem without quoting the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyShapeError {
    /// Nothing (or only whitespace) was entered.
    #[error("the key is empty")]
    Empty,
    /// Spaces, tabs or line breaks inside the key: usually a bad copy-paste.
    #[error("the key contains spaces or line breaks; copy it again without them")]
    Whitespace,
    /// Characters no provider uses.
    #[error("the key contains characters that API keys never have")]
    BadCharacters,
    /// Longer than any real key.
    #[error("the key is too long to be an API key")]
    TooLong,
    /// Too short for this provider.
    #[error("the key is too short to be a key for {}", .0.display_name())]
    TooShort(Provider),
    /// The prefix says it belongs to another provider.
    #[error(
        "this looks like a key for {}, not for {}; choose {} as the provider",
        found.display_name(), expected.display_name(), found.display_name()
    )]
    WrongProvider {
        /// The provider chosen.
        expected: Provider,
        /// The provider the prefix belongs to.
        found: Provider,
    },
    /// The prefix is not the provider's.
    #[error("{} keys start with {prefix}", provider.display_name())]
    WrongPrefix {
        /// The provider chosen.
        provider: Provider,
        /// The prefix its keys start with.
        prefix: &'static str,
    },
}
