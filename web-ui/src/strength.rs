//! A password strength hint for the create and change-password forms.
//!
//! A rough estimate of guessing effort (length × alphabet, minus obvious patterns), good
//! enough to steer people away from bad choices. The vault's real protection is Argon2id
//! (64 MiB, 3 passes) per guess; this only advises and never blocks a password the vault
//! accepts.

use byok_vault::MIN_PASSWORD_CHARS;

/// How hard a password looks to guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Strength {
    /// Shorter than the vault accepts.
    TooShort,
    /// Easy to guess.
    Weak,
    /// Guessable with effort.
    Fair,
    /// Good.
    Good,
    /// Very good.
    Strong,
}

impl Strength {
    /// A short label ("weak").
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::TooShort => "too short",
            Self::Weak => "weak",
            Self::Fair => "fair",
            Self::Good => "good",
            Self::Strong => "strong",
        }
    }

    /// Advice in a sentence.
    #[must_use]
    pub fn advice(self) -> &'static str {
        match self {
            Self::TooShort => "Use at least 8 characters.",
            Self::Weak => {
                "Easy to guess. Try a few unrelated words, e.g. “copper lantern orbit tulip”."
            }
            Self::Fair => "Could be guessed with effort. Add another word or more length.",
            Self::Good => "Good. A longer passphrase is even better.",
            Self::Strong => "Hard to guess.",
        }
    }

    /// 0 to 4, for the meter.
    #[must_use]
    pub fn score(self) -> u8 {
        self as u8
    }
}

/// Words and runs that guessers try first.
const COMMON: [&str; 16] = [
    "password", "passwort", "qwerty", "azerty", "letmein", "welcome", "admin", "iloveyou",
    "monkey", "dragon", "secret", "abc123", "123456", "111111", "football", "sunshine",
];

/// Estimates how strong `password` is.
#[must_use]
pub fn assess(password: &str) -> Strength {
    let chars: Vec<char> = password.chars().collect();
    if chars.len() < MIN_PASSWORD_CHARS {
        return Strength::TooShort;
    }
    let classes = [
        chars.iter().any(char::is_ascii_lowercase),
        chars.iter().any(char::is_ascii_uppercase),
        chars.iter().any(char::is_ascii_digit),
        chars.iter().any(|c| c.is_ascii_punctuation() || *c == ' '),
        chars.iter().any(|c| !c.is_ascii()),
    ];
    let pool: f64 = [26.0, 26.0, 10.0, 33.0, 100.0]
        .iter()
        .zip(classes)
        .filter(|(_, present)| *present)
        .map(|(size, _)| size)
        .sum();
    // Characters that continue a repeat or a +1/-1 run ("aaaa", "1234", "dcba") add little.
    let effective = chars
        .windows(2)
        .filter(|w| {
            let step = i64::from(u32::from(w[1])) - i64::from(u32::from(w[0]));
            !matches!(step, -1..=1)
        })
        .count()
        + 1;
    #[allow(clippy::cast_precision_loss)] // a handful of characters
    let mut bits = effective as f64 * pool.max(2.0).log2();
    let lower = password.to_lowercase();
    if COMMON.iter().any(|w| lower.contains(w)) {
        bits -= 20.0;
    }
    match bits {
        b if b < 40.0 => Strength::Weak,
        b if b < 60.0 => Strength::Fair,
        b if b < 80.0 => Strength::Good,
        _ => Strength::Strong,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_passwords_are_too_short() {
        assert_eq!(assess(""), Strength::TooShort);
        assert_eq!(assess("Ab1!xyz"), Strength::TooShort);
        // Characters, not bytes: seven non-ASCII characters are still too short.
        assert_eq!(assess("ééééééé"), Strength::TooShort);
    }

    #[test]
    fn common_and_patterned_passwords_are_weak() {
        for p in [
            "password",
            "Password1",
            "12345678",
            "aaaaaaaaaaaa",
            "qwerty123",
            "abcdefghij",
        ] {
            assert_eq!(assess(p), Strength::Weak, "{p}");
        }
    }

    #[test]
    fn longer_and_varied_passwords_score_higher() {
        assert_eq!(assess("k7#mQ2vz"), Strength::Fair);
        assert_eq!(assess("correct horse battery"), Strength::Strong);
        assert!(assess("Tr0ub4dor&3x") >= Strength::Good);
        assert!(assess("copper lantern orbit tulip") == Strength::Strong);
        // Monotone in length for the same style of password.
        assert!(assess("k7#mQ2vzP9") >= assess("k7#mQ2vz"));
    }

    #[test]
    fn every_level_has_words() {
        for s in [
            Strength::TooShort,
            Strength::Weak,
            Strength::Fair,
            Strength::Good,
            Strength::Strong,
        ] {
            assert!(!s.label().is_empty() && s.advice().ends_with('.'));
        }
        assert_eq!(Strength::Strong.score(), 4);
    }
}
