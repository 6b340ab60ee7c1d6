//! The zeroizing passphrase type that opens and closes passphrase-encrypted messages.

use std::fmt;

use pgp::types::Password;
use zeroize::Zeroizing;

/// A passphrase for OpenPGP symmetric encryption or for unlocking a secret key.
///
/// The bytes are overwritten with zeros when the value is dropped, and `Debug` prints
/// `<redacted>`. The crate never logs a passphrase and never puts one into an error.
#[derive(Clone)]
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Wraps `passphrase`; the string's buffer is zeroized when the `Passphrase` drops.
    pub fn new(passphrase: String) -> Self {
        Self(Zeroizing::new(passphrase))
    }

    /// Returns the passphrase text, for handing it to another secure consumer.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Returns true when the passphrase has no characters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Builds rPGP's password type. rPGP stores the copy in its own zeroizing buffer.
    pub(crate) fn to_password(&self) -> Password {
        Password::from(self.0.as_bytes())
    }
}

impl From<String> for Passphrase {
    fn from(passphrase: String) -> Self {
        Self::new(passphrase)
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let passphrase = Passphrase::new("correct horse".to_owned());

        assert_eq!(format!("{passphrase:?}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(&passphrase)), "Some(<redacted>)");
    }

    #[test]
    fn to_password_keeps_bytes() {
        let passphrase = Passphrase::new("pässword".to_owned());

        assert_eq!(&passphrase.to_password().read()[..], "pässword".as_bytes());
    }
}
