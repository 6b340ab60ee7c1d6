//! A string that must never be shown: passphrases, tokens, webhook URLs with tokens.

use std::fmt;

use zeroize::Zeroizing;

/// A secret value. `Debug` and `Display` print `<redacted>`; the bytes are zeroized on drop.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a value. The caller's copy should be a value moved in, not cloned.
    pub fn new(value: String) -> Self {
        Secret(Zeroizing::new(value))
    }

    /// Returns the secret text. Callers must not log, print or store it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}
