//! The messages of invalid configurations, as operators read them.

use invguard_config::ConfigError;

use crate::{Fixture, error_chain, load, with_snapshots};

/// Loads `file` (if any) and `pairs`, expects an error, and snapshots its message with the
/// temporary directory replaced by `[TMP]`.
fn check(name: &str, file: Option<&str>, pairs: &[(&str, &str)]) {
    let fixture = Fixture::new();
    let path = file.map(|text| fixture.write("invguard.toml", text));

    let error = match load(path.as_deref(), pairs) {
        Ok(loaded) => panic!("{name}: loaded without error: {:?}", loaded.config),
        Err(error) => error,
    };

    let message = fixture.redact(&error_chain(&error));
    with_snapshots(|| insta::assert_snapshot!(name, message));
}

/// Like [`check`] with a file that may name `{TMP}`, replaced by the temporary directory.
fn check_with_files(name: &str, file: &str, setup: impl FnOnce(&Fixture)) {
    let fixture = Fixture::new();
    setup(&fixture);
    let dir = fixture.path("probe");
    let dir = dir.parent().unwrap().display().to_string();
    let text = file.replace("{TMP}", &dir);
    let path = fixture.write("invguard.toml", &text);

    let error = load(Some(&path), &[]).unwrap_err();

    let message = fixture.redact(&error_chain(&error));
    with_snapshots(|| insta::assert_snapshot!(name, message));
}

#[test]
fn error_retention_days_not_a_number() {
    check("retention_days_not_a_number", None, &[("BACKUP_RETENTION_DAYS", "abc")]);
}

#[test]
fn error_retention_days_negative() {
    check("retention_days_negative", None, &[("BACKUP_RETENTION_DAYS", "-1")]);
}

#[test]
fn error_health_check_interval_with_unit() {
    check("health_check_interval_with_unit", None, &[("HEALTH_CHECK_INTERVAL", "5m")]);
}

#[test]
fn error_log_level_unknown() {
    check("log_level_unknown", None, &[("LOG_LEVEL", "verbose")]);
}

#[test]
fn error_unknown_key_with_suggestion() {
    check("unknown_key_with_suggestion", Some("[retention]\nkeep_lats = 3\n"), &[]);
}

#[test]
fn error_unknown_key_without_suggestion() {
    check("unknown_key_without_suggestion", Some("[backup]\ncolour = \"red\"\n"), &[]);
}

#[test]
fn error_unknown_section() {
    check("unknown_section", Some("[retension]\nkeep_last = 3\n"), &[]);
}

#[test]
fn error_unknown_variable_far_from_every_key() {
    check("unknown_variable_far_from_every_key", None, &[("INVGUARD_BOGUS", "1")]);
}

#[test]
fn error_unknown_variable() {
    check("unknown_variable", None, &[("INVGUARD_RETENTION__KEEPLAST", "3")]);
}

#[test]
fn error_unknown_job_in_file() {
    check("unknown_job_in_file", Some("[jobs.nightly]\nschedule = \"0 1 * * *\"\n"), &[]);
}

#[test]
fn error_unknown_job_variable() {
    check("unknown_job_variable", None, &[("INVGUARD_JOBS__NIGHTLY__ENABLED", "true")]);
}

#[test]
fn error_relative_path_in_variable() {
    check("relative_path_in_variable", None, &[("DATABASE_PATH", "data/inventory.db")]);
}

#[test]
fn error_relative_path_in_file() {
    check("relative_path_in_file", Some("[backup]\ndir = \"backups\"\n"), &[]);
}

#[test]
fn error_relative_path_in_list() {
    check(
        "relative_path_in_list",
        Some("[encryption]\nrecipients = [\"/keys/a.asc\", \"b.asc\"]\n"),
        &[],
    );
}

#[test]
fn error_bad_timezone() {
    check("bad_timezone", None, &[("INVGUARD_TIMEZONE", "Europe/Berln")]);
}

#[test]
fn error_bad_duration() {
    check("bad_duration", Some("[api]\nconnect_timeout = \"5 parsecs\"\n"), &[]);
}

#[test]
fn error_duration_without_unit() {
    check("duration_without_unit", Some("[monitor]\ninterval = 300\n"), &[]);
}

#[test]
fn error_zero_duration() {
    check("zero_duration", Some("[jobs.backup]\nmax_runtime = \"0s\"\n"), &[]);
}

#[test]
fn error_compression_level_out_of_range() {
    check("compression_level_out_of_range", Some("[backup]\ncompression_level = 25\n"), &[]);
}

#[test]
fn error_integer_not_a_number() {
    check("integer_not_a_number", None, &[("INVGUARD_RETENTION__KEEP_LAST", "many")]);
}

#[test]
fn error_bad_cron() {
    check("bad_cron", Some("[jobs.backup]\nschedule = \"0 25 * * *\"\n"), &[]);
}

#[test]
fn error_schedule_and_interval() {
    let file = "[jobs.backup]\nschedule = \"0 1 * * *\"\n";
    check("schedule_and_interval", Some(file), &[("INVGUARD_JOBS__BACKUP__INTERVAL", "1h")]);
}

#[test]
fn error_invalid_toml() {
    check("invalid_toml", Some("[backup\ndir = \"/x\"\n"), &[]);
}

#[test]
fn error_missing_configuration_file() {
    let fixture = Fixture::new();
    let missing = fixture.path("missing.toml");

    let error = load(Some(&missing), &[]).unwrap_err();

    let message = fixture.redact(&error_chain(&error));
    with_snapshots(|| insta::assert_snapshot!("missing_configuration_file", message));
}

#[test]
fn error_passphrase_in_file() {
    check("passphrase_in_file", Some("[encryption]\npassphrase = \"hunter2\"\n"), &[]);
}

#[test]
fn error_token_in_file() {
    check("token_in_file", Some("[api]\ntoken = \"abc\"\n"), &[]);
}

#[test]
fn error_both_passphrase_sources() {
    let pairs = [("GPG_PASSPHRASE", "inline"), ("GPG_PASSPHRASE_FILE", "/run/secrets/passphrase")];
    check("both_passphrase_sources", None, &pairs);
}

#[test]
fn error_both_token_sources() {
    check(
        "both_token_sources",
        None,
        &[("API_TOKEN", "inline"), ("API_TOKEN_FILE", "/run/secrets/token")],
    );
}

#[test]
fn error_empty_passphrase_file() {
    check_with_files(
        "empty_passphrase_file",
        "[encryption]\npassphrase_file = \"{TMP}/passphrase\"\n",
        |fixture| {
            fixture.write("passphrase", "\n");
        },
    );
}

#[test]
fn error_missing_passphrase_file() {
    check_with_files(
        "missing_passphrase_file",
        "[encryption]\npassphrase_file = \"{TMP}/passphrase\"\n",
        |_| {},
    );
}

#[test]
fn error_database_name_with_separator() {
    check("database_name_with_separator", Some("[database]\nname = \"../inventory\"\n"), &[]);
}

#[test]
fn error_encryption_mode_unknown() {
    check("encryption_mode_unknown", None, &[("INVGUARD_ENCRYPTION__MODE", "gpg")]);
}

#[test]
fn error_login_without_password_file() {
    check("login_without_password_file", Some("[api.login]\nusername = \"monitor\"\n"), &[]);
}

#[test]
fn error_api_url_without_scheme() {
    check("api_url_without_scheme", None, &[("API_URL", "backend:5000/api")]);
}

#[test]
fn error_notifier_without_url() {
    check("notifier_without_url", Some("[[monitor.notifiers]]\ntype = \"slack\"\n"), &[]);
}

#[test]
fn error_notifier_unknown_type() {
    let file = "[[monitor.notifiers]]\ntype = \"pager\"\nurl = \"https://x.invalid\"\n";
    check("notifier_unknown_type", Some(file), &[]);
}

#[test]
fn error_notifier_field_of_other_type() {
    let file = "[[monitor.notifiers]]\ntype = \"slack\"\nurl = \"https://x.invalid\"\nprogram = \"/bin/true\"\n";
    check("notifier_field_of_other_type", Some(file), &[]);
}

#[test]
fn error_notifier_unknown_field() {
    let file = "[[monitor.notifiers]]\ntype = \"slack\"\nurls = \"https://x.invalid\"\n";
    check("notifier_unknown_field", Some(file), &[]);
}

#[test]
fn error_percentage_out_of_range() {
    check("percentage_out_of_range", Some("[monitor]\nlow_stock_percentage = 10\n"), &[]);
}

#[test]
fn error_boolean_not_true_or_false() {
    check("boolean_not_true_or_false", None, &[("INVGUARD_RETENTION__INCLUDE_LEGACY", "yes")]);
}

#[test]
fn error_key_written_as_table() {
    check("key_written_as_table", Some("[retention.keep_last]\nvalue = 3\n"), &[]);
}

#[test]
fn error_section_written_as_value() {
    check("section_written_as_value", Some("retention = 3\n"), &[]);
}

#[test]
fn require_encryption_keys_messages() {
    let passphrase = load(None, &[]).unwrap().config.require_encryption_keys().unwrap_err();
    let public_key = load(None, &[("INVGUARD_ENCRYPTION__MODE", "public-key")])
        .unwrap()
        .config
        .require_encryption_keys()
        .unwrap_err();

    with_snapshots(|| {
        insta::assert_snapshot!("missing_passphrase", passphrase.to_string());
        insta::assert_snapshot!("missing_recipients", public_key.to_string());
    });
}

#[test]
fn error_passphrase_file_with_carriage_return() {
    check_with_files(
        "passphrase_file_with_carriage_return",
        "[encryption]\npassphrase_file = \"{TMP}/passphrase\"\n",
        |fixture| {
            fixture.write_with_mode("passphrase", "abc\r\n", 0o600);
        },
    );
}

#[test]
fn error_passphrase_with_carriage_return() {
    check("passphrase_with_carriage_return", None, &[("GPG_PASSPHRASE", "abc\r")]);
}

/// Every key that names a passphrase file refuses a carriage return at load, also the files
/// that only the decrypting commands read.
#[test]
fn error_carriage_return_in_every_passphrase_file() {
    let fixture = Fixture::new();
    let crlf = fixture.write_with_mode("crlf", "abc\r\n", 0o600);
    let good = fixture.write_with_mode("good", "abc\n", 0o600);
    let crlf = crlf.display().to_string();
    let good = good.display().to_string();

    let cases = [
        ("encryption.passphrase_file", vec![("GPG_PASSPHRASE_FILE", crlf.as_str())]),
        (
            "encryption.passphrase_files",
            vec![
                ("GPG_PASSPHRASE_FILE", good.as_str()),
                ("INVGUARD_ENCRYPTION__PASSPHRASE_FILES", crlf.as_str()),
            ],
        ),
        (
            "encryption.secret_key_passphrase_file",
            vec![("INVGUARD_ENCRYPTION__SECRET_KEY_PASSPHRASE_FILE", crlf.as_str())],
        ),
    ];
    for (key, pairs) in cases {
        let error = load(None, &pairs).unwrap_err();
        assert!(
            matches!(
                &error,
                ConfigError::CarriageReturnInPassphraseFile { key: named, path }
                    if named == key && path.display().to_string() == crlf
            ),
            "{key}: {error}"
        );
    }

    load(None, &[("GPG_PASSPHRASE_FILE", good.as_str())]).unwrap();
}
