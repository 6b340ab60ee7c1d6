//! Child processes without secrets in their environment.

use std::ffi::{OsStr, OsString};
use std::process::Command;

use crate::registry;

/// Parts of variable names that mark a secret, matched in any case.
const SECRET_NAME_PARTS: [&str; 4] = ["PASSPHRASE", "PASSWORD", "TOKEN", "SECRET"];

/// Creates a [`Command`] whose environment is the current process environment without any
/// secret variable.
///
/// Removed are the secret variables of the configuration (`GPG_PASSPHRASE`, `API_TOKEN`,
/// `INVGUARD_ENCRYPTION__PASSPHRASE`, `INVGUARD_JOBS__<JOB>__PING_URL`, ...) and every variable
/// whose name contains `PASSPHRASE`, `PASSWORD`, `TOKEN` or `SECRET` in any case, which also
/// removes the names of secret files such as `GPG_PASSPHRASE_FILE`. The environment is given to
/// the child explicitly, so variables set in this process after the call are not passed on.
pub fn secret_free_command(program: impl AsRef<OsStr>) -> Command {
    command_with_environment(program, std::env::vars_os())
}

/// Returns whether a variable of this name must not reach a child process.
pub fn is_secret_variable(name: &OsStr) -> bool {
    let name = name.to_string_lossy().to_ascii_uppercase();
    if SECRET_NAME_PARTS.iter().any(|part| name.contains(part)) {
        return true;
    }
    registry::keys().iter().filter(|info| info.secret).any(|info| info.env.contains(&name.as_str()))
}

fn command_with_environment(
    program: impl AsRef<OsStr>,
    environment: impl IntoIterator<Item = (OsString, OsString)>,
) -> Command {
    let mut command = Command::new(program);
    command.env_clear();
    command.envs(environment.into_iter().filter(|(name, _)| !is_secret_variable(name)));
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_secret_variable_matches_secret_names() {
        for name in [
            "GPG_PASSPHRASE",
            "GPG_PASSPHRASE_FILE",
            "API_TOKEN",
            "API_TOKEN_FILE",
            "INVGUARD_ENCRYPTION__PASSPHRASE",
            "INVGUARD_JOBS__BACKUP__PING_URL",
            "INVGUARD_JOBS__FULL_CHECK__PING_URL",
            "db_password",
            "AWS_SECRET_ACCESS_KEY",
        ] {
            assert!(is_secret_variable(OsStr::new(name)), "{name}");
        }
    }

    #[test]
    fn is_secret_variable_keeps_plain_names() {
        for name in ["PATH", "HOME", "LANG", "BACKUP_PATH", "INVGUARD_BACKUP__DIR", "API_URL"] {
            assert!(!is_secret_variable(OsStr::new(name)), "{name}");
        }
    }

    #[test]
    fn command_with_environment_child_sees_no_secret() {
        let environment = [
            ("GPG_PASSPHRASE", "pass-value"),
            ("API_TOKEN", "token-value"),
            ("INVGUARD_JOBS__HEALTH__PING_URL", "https://ping.invalid/uuid"),
            ("LOGIN_PASSWORD", "password-value"),
            ("INVGUARD_BACKUP__DIR", "/backups"),
        ]
        .map(|(name, value)| (OsString::from(name), OsString::from(value)));

        let output = command_with_environment("env", environment).output().unwrap();
        assert!(output.status.success());
        let seen = String::from_utf8(output.stdout).unwrap();

        assert_eq!(seen.lines().collect::<Vec<_>>(), ["INVGUARD_BACKUP__DIR=/backups"]);
    }
}
