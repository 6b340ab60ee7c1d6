//! Passphrases, tokens and the environment of child processes.

use std::ffi::OsStr;
use std::process::Command;

use invguard_config::{
    Config, ConfigError, EncryptionMode, LoadOptions, Origin, Secret, is_secret_variable,
    secret_free_command,
};

use crate::{Fixture, error_chain, load};

const PASSPHRASE: &str = "correct horse battery staple";

#[test]
fn load_passphrase_file_trims_one_newline() {
    let fixture = Fixture::new();
    let file = fixture.write("passphrase", &format!("{PASSPHRASE}\n"));
    let file_text = file.display().to_string();

    let loaded = load(None, &[("GPG_PASSPHRASE_FILE", &file_text)]).unwrap();

    let encryption = &loaded.config.encryption;
    assert_eq!(encryption.passphrase.as_ref().unwrap().expose(), PASSPHRASE);
    assert_eq!(encryption.passphrase_file.as_deref(), Some(file.as_path()));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn load_passphrase_file_from_configuration_file() {
    let fixture = Fixture::new();
    let passphrase = fixture.write("passphrase", PASSPHRASE);
    let config = fixture.write(
        "invguard.toml",
        &format!("[encryption]\npassphrase_file = {:?}\n", passphrase.display().to_string()),
    );

    let loaded = load(Some(&config), &[]).unwrap();

    assert_eq!(loaded.config.encryption.passphrase.as_ref().unwrap().expose(), PASSPHRASE);
    let origin = Origin::File(config.clone());
    assert_eq!(*loaded.origins.get("encryption.passphrase_file"), origin);
}

#[test]
fn load_both_passphrase_sources_is_error() {
    let fixture = Fixture::new();
    let file = fixture.write("passphrase", PASSPHRASE);
    let file_text = file.display().to_string();
    let pairs = [("GPG_PASSPHRASE", "inline"), ("GPG_PASSPHRASE_FILE", file_text.as_str())];

    let error = load(None, &pairs).unwrap_err();

    assert!(matches!(error, ConfigError::Conflict { .. }), "{error:?}");
    let message = error_chain(&error);
    assert!(message.contains("GPG_PASSPHRASE)"), "{message}");
    assert!(message.contains("GPG_PASSPHRASE_FILE"), "{message}");
    assert!(!message.contains("inline"), "{message}");
}

#[test]
fn load_loose_passphrase_file_warns_with_chmod() {
    let fixture = Fixture::new();
    let file = fixture.write_with_mode("passphrase", PASSPHRASE, 0o644);
    let file_text = file.display().to_string();

    let loaded = load(None, &[("GPG_PASSPHRASE_FILE", &file_text)]).unwrap();

    assert_eq!(loaded.config.encryption.passphrase.as_ref().unwrap().expose(), PASSPHRASE);
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    let warning = &loaded.warnings[0];
    assert!(warning.contains(&format!("`chmod 600 {file_text}`")), "{warning}");
    assert!(warning.contains("mode 0644"), "{warning}");
}

#[test]
fn load_loose_secret_files_each_warn_with_chmod() {
    let fixture = Fixture::new();
    let current = fixture.write("passphrase", PASSPHRASE);
    let loose = |name: &str| fixture.write_with_mode(name, "secret-material", 0o640);
    let old_passphrases = [loose("passphrase-2025"), loose("passphrase-2024")];
    let secret_keys = [loose("key-2025.asc"), loose("key-2024.asc")];
    let key_passphrase = loose("key-passphrase");
    let token = loose("api-token");
    let list = |paths: &[std::path::PathBuf]| {
        let quoted: Vec<String> =
            paths.iter().map(|path| format!("{:?}", path.display().to_string())).collect();
        quoted.join(", ")
    };
    let config = fixture.write(
        "invguard.toml",
        &format!(
            "[encryption]\npassphrase_file = {:?}\npassphrase_files = [{}]\n\
             secret_key_file = {:?}\nsecret_key_files = [{:?}]\n\
             secret_key_passphrase_file = {:?}\n\n[api]\ntoken_file = {:?}\n",
            current.display().to_string(),
            list(&old_passphrases),
            secret_keys[0].display().to_string(),
            secret_keys[1].display().to_string(),
            key_passphrase.display().to_string(),
            token.display().to_string(),
        ),
    );

    let loaded = load(Some(&config), &[]).unwrap();

    let loose_files = old_passphrases.iter().chain(&secret_keys).chain([&key_passphrase, &token]);
    for path in loose_files {
        let chmod = format!("`chmod 600 {}`", path.display());
        let warnings: Vec<&String> =
            loaded.warnings.iter().filter(|warning| warning.contains(&chmod)).collect();
        assert_eq!(warnings.len(), 1, "{path:?}: {:?}", loaded.warnings);
        assert!(warnings[0].contains("mode 0640"), "{}", warnings[0]);
    }
    assert_eq!(loaded.warnings.len(), 6, "{:?}", loaded.warnings);
    let passphrase_warning =
        format!("encryption.passphrase_files {}", old_passphrases[1].display());
    assert!(loaded.warnings.iter().any(|warning| warning.starts_with(&passphrase_warning)));
}

#[test]
fn load_without_passphrase_succeeds() {
    let loaded = load(None, &[]).unwrap();

    assert_eq!(loaded.config.encryption.mode, EncryptionMode::Passphrase);
    assert!(loaded.config.encryption.passphrase.is_none());
}

#[test]
fn require_encryption_keys_without_passphrase_says_how() {
    let loaded = load(None, &[]).unwrap();

    let error = loaded.config.require_encryption_keys().unwrap_err();

    let message = error.to_string();
    assert!(message.contains("GPG_PASSPHRASE_FILE"), "{message}");
    assert!(message.contains("[encryption] passphrase_file"), "{message}");
    assert!(message.contains("mode = \"public-key\""), "{message}");
}

#[test]
fn require_encryption_keys_accepts_each_configured_mode() {
    let with_passphrase = load(None, &[("GPG_PASSPHRASE", PASSPHRASE)]).unwrap();
    let with_recipient = load(
        None,
        &[
            ("INVGUARD_ENCRYPTION__MODE", "public-key"),
            ("INVGUARD_ENCRYPTION__RECIPIENTS", "/keys/a.asc"),
        ],
    )
    .unwrap();
    let unencrypted = load(None, &[("INVGUARD_ENCRYPTION__MODE", "none")]).unwrap();

    assert!(with_passphrase.config.require_encryption_keys().is_ok());
    assert!(with_recipient.config.require_encryption_keys().is_ok());
    assert!(unencrypted.config.require_encryption_keys().is_ok());
}

#[test]
fn require_encryption_keys_public_key_without_recipients() {
    let loaded = load(None, &[("INVGUARD_ENCRYPTION__MODE", "public-key")]).unwrap();

    let error = loaded.config.require_encryption_keys().unwrap_err();

    assert!(error.to_string().contains("recipients"), "{error}");
}

#[test]
fn for_tests_with_passphrase_satisfies_backup() {
    let fixture = Fixture::new();
    let config = Config::for_tests(&fixture.path("inventory.db"), &fixture.path("backups"));
    assert!(config.require_encryption_keys().is_err());

    let config = config.with_passphrase(Secret::new(PASSPHRASE.to_owned()));

    assert!(config.require_encryption_keys().is_ok());
}

#[test]
fn decryption_passphrases_reads_rotated_files() {
    let fixture = Fixture::new();
    let old = fixture.write("old-passphrase", "old one\n");
    let list = format!("{}", old.display());
    let pairs =
        [("GPG_PASSPHRASE", "new one"), ("INVGUARD_ENCRYPTION__PASSPHRASE_FILES", list.as_str())];

    let loaded = load(None, &pairs).unwrap();
    let passphrases = loaded.config.encryption.decryption_passphrases().unwrap();

    let exposed: Vec<&str> = passphrases.iter().map(Secret::expose).collect();
    assert_eq!(exposed, ["new one", "old one"]);
}

#[test]
fn load_secrets_never_shown() {
    let fixture = Fixture::new();
    let token = fixture.write("token", "token-value-7f3a");
    let config = fixture.write(
        "invguard.toml",
        "[[monitor.notifiers]]\ntype = \"slack\"\nurl = \"https://hooks.invalid/T000/secret-path-91\"\n\n\
         [jobs.backup]\nping_url = \"https://ping.invalid/uuid-5521\"\n",
    );
    let token_text = token.display().to_string();
    let pairs =
        [("GPG_PASSPHRASE", "passphrase-value-c0de"), ("API_TOKEN_FILE", token_text.as_str())];

    let loaded = load(Some(&config), &pairs).unwrap();

    let displayed = [format!("{loaded:?}"), loaded.render_toml()];
    for text in displayed {
        for secret in ["token-value-7f3a", "secret-path-91", "uuid-5521", "passphrase-value-c0de"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
}

#[test]
fn load_invalid_secret_value_is_redacted_in_error() {
    let fixture = Fixture::new();
    let config = fixture.write("invguard.toml", "[jobs.health]\nping_url = 12345\n");

    let error = load(Some(&config), &[]).unwrap_err();

    let message = error_chain(&error);
    assert!(message.contains("\"<redacted>\""), "{message}");
    assert!(!message.contains("12345"), "{message}");
}

#[test]
fn load_loose_configuration_file_with_secret_warns() {
    let fixture = Fixture::new();
    let config = fixture.write_with_mode(
        "invguard.toml",
        "[[monitor.notifiers]]\ntype = \"webhook\"\nurl = \"https://hooks.invalid/x\"\n",
        0o644,
    );

    let loaded = load(Some(&config), &[]).unwrap();

    let chmod = format!("`chmod 600 {}`", config.display());
    assert!(
        loaded.warnings.iter().any(|warning| warning.contains(&chmod)),
        "{:?}",
        loaded.warnings
    );
}

/// Marks the child process of [`secret_free_command_removes_inherited_secrets`].
const PROBE: &str = "CONFIG_TEST_SECRET_PROBE";

/// Checks that a child started by `secret_free_command` receives no secret variable of this process.
/// Run directly it checks the test runner's own environment; run as a probe by
/// [`secret_free_command_removes_inherited_secrets`] it checks an environment full of secrets
/// and also loads the configuration from the process environment.
#[test]
fn secret_free_command_probe() {
    let output = secret_free_command("env").output().unwrap();
    assert!(output.status.success());
    let seen = String::from_utf8(output.stdout).unwrap();

    for line in seen.lines() {
        let name = line.split('=').next().unwrap_or_default();
        assert!(!is_secret_variable(OsStr::new(name)), "{name} reached the child");
    }
    if std::env::var_os(PROBE).is_none() {
        return;
    }

    assert!(seen.contains("INVGUARD_BACKUP__DIR=/probe/backups"), "{seen}");
    assert!(seen.contains("PATH="), "{seen}");
    for secret in ["probe-passphrase", "probe-token", "probe-ping", "probe-password"] {
        assert!(!seen.contains(secret), "{secret} reached the child: {seen}");
    }

    let loaded = Config::load(&LoadOptions { file: None, env: None }).unwrap();
    assert_eq!(loaded.config.encryption.passphrase.unwrap().expose(), "probe-passphrase");
    assert_eq!(loaded.config.backup.dir, std::path::Path::new("/probe/backups"));
}

#[test]
fn secret_free_command_removes_inherited_secrets() {
    let test_binary = std::env::current_exe().unwrap();

    let output = Command::new(test_binary)
        .args(["secrets::secret_free_command_probe", "--exact", "--nocapture"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TZ", "UTC")
        .env(PROBE, "1")
        .env("GPG_PASSPHRASE", "probe-passphrase")
        .env("API_TOKEN", "probe-token")
        .env("INVGUARD_JOBS__BACKUP__PING_URL", "https://ping.invalid/probe-ping")
        .env("SMTP_PASSWORD", "probe-password")
        .env("INVGUARD_BACKUP__DIR", "/probe/backups")
        .output()
        .unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "probe failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "the probe did not run:\n{stdout}");
}
