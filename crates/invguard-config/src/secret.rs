//! A string that must never be shown: passphrases, tokens, webhook URLs with tokens.

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use zeroize::Zeroizing;

use crate::ConfigError;

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

/// Reads a secret from a file, removing one trailing newline (`\n` or `\r\n`).
///
/// `key` names the setting that points at the file, for the error message.
///
/// # Errors
///
/// [`ConfigError::ReadSecret`] when the file cannot be read or is not UTF-8, and
/// [`ConfigError::EmptySecret`] when nothing but the newline is in it.
pub fn read_secret_file(key: &str, path: &Path) -> Result<Secret, ConfigError> {
    let read_error =
        |source| ConfigError::ReadSecret { key: key.to_owned(), path: path.to_owned(), source };
    let mut text = Zeroizing::new(fs_err::read_to_string(path).map_err(read_error)?);

    let newline = if text.ends_with("\r\n") { 2 } else { usize::from(text.ends_with('\n')) };
    let length = text.len() - newline;
    // Zeroizing<String> clears the whole capacity on drop, so the removed bytes are cleared too.
    text.truncate(length);
    if text.is_empty() {
        return Err(ConfigError::EmptySecret { key: key.to_owned(), path: path.to_owned() });
    }
    if text.contains(['\n', '\r']) {
        return Err(ConfigError::MultiLineSecret { key: key.to_owned(), path: path.to_owned() });
    }

    Ok(Secret(text))
}

/// Rejects a passphrase file that contains a carriage return anywhere.
///
/// [`read_secret_file`] strips a trailing `\r\n`, but `gpg --passphrase-file` and
/// `gpg --passphrase-fd` keep the `\r`, so a backup encrypted with the stripped passphrase would
/// not decrypt in the emergency restore. A file that cannot be read passes: the command that
/// reads it reports that.
pub(crate) fn reject_carriage_return(key: &str, path: &Path) -> Result<(), ConfigError> {
    let Ok(bytes) = fs_err::read(path) else { return Ok(()) };
    let bytes = Zeroizing::new(bytes);
    if bytes.contains(&b'\r') {
        return Err(ConfigError::CarriageReturnInPassphraseFile {
            key: key.to_owned(),
            path: path.to_owned(),
        });
    }
    Ok(())
}

/// Returns a warning when group or others have any permission on a file that holds a secret.
/// Directories and missing files get none; the command that reads them reports those.
pub(crate) fn loose_permissions_warning(key: &str, path: &Path) -> Option<String> {
    let metadata = fs_err::metadata(path).ok()?;
    let mode = metadata.permissions().mode() & 0o777;
    if !metadata.is_file() || mode & 0o077 == 0 {
        return None;
    }

    Some(format!(
        "{key} {} is readable or writable by group or others (mode {mode:04o}): run `chmod 600 {}`",
        path.display(),
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_and_display_are_redacted() {
        let secret = Secret::new("hunter2".to_owned());
        assert_eq!(format!("{secret:?}"), "<redacted>");
        assert_eq!(secret.to_string(), "<redacted>");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn read_secret_file_trims_one_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pass");
        fs_err::write(&path, "correct horse\n").unwrap();
        let secret = read_secret_file("encryption.passphrase_file", &path).unwrap();
        assert_eq!(secret.expose(), "correct horse");
    }

    #[test]
    fn read_secret_file_rejects_second_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pass");

        // gpg reads one line from --passphrase-fd, so a backup made with "correct horse\n" as
        // its passphrase could not be decrypted by the emergency restore.
        for text in ["correct horse\n\n", "correct\nhorse\n", "correct horse\r\n\r\n"] {
            fs_err::write(&path, text).unwrap();
            let error = read_secret_file("encryption.passphrase_file", &path).unwrap_err();
            assert!(matches!(error, ConfigError::MultiLineSecret { .. }), "{text:?}: {error}");
        }
    }

    #[test]
    fn read_secret_file_trims_crlf() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pass");
        fs_err::write(&path, "battery staple\r\n").unwrap();
        let secret = read_secret_file("encryption.passphrase_file", &path).unwrap();
        assert_eq!(secret.expose(), "battery staple");
    }

    #[test]
    fn reject_carriage_return_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pass");

        for text in ["abc\r\n", "a\rbc\n", "abc\r"] {
            fs_err::write(&path, text).unwrap();
            let error = reject_carriage_return("encryption.passphrase_file", &path).unwrap_err();
            assert!(
                matches!(error, ConfigError::CarriageReturnInPassphraseFile { .. }),
                "{text:?}: {error}"
            );
        }

        fs_err::write(&path, "abc\n").unwrap();
        reject_carriage_return("encryption.passphrase_file", &path).unwrap();
        reject_carriage_return("encryption.passphrase_file", &dir.path().join("missing")).unwrap();
    }

    #[test]
    fn read_secret_file_empty_is_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pass");
        fs_err::write(&path, "\n").unwrap();
        let error = read_secret_file("encryption.passphrase_file", &path).unwrap_err();
        assert!(matches!(error, ConfigError::EmptySecret { .. }), "{error:?}");
    }

    #[test]
    fn loose_permissions_warning_names_chmod() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pass");
        fs_err::write(&path, "x").unwrap();

        fs_err::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let warning = loose_permissions_warning("encryption.passphrase_file", &path).unwrap();
        assert!(warning.contains(&format!("chmod 600 {}", path.display())), "{warning}");
        assert!(warning.contains("mode 0640"), "{warning}");

        fs_err::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(loose_permissions_warning("encryption.passphrase_file", &path), None);
    }
}
