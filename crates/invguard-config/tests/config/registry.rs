//! The key registry and the loader agree: every registered key loads, nothing else does.

use std::path::Path;

use invguard_config::{ConfigError, KeyInfo, Origin, keys};
use proptest::prelude::*;

use crate::{Fixture, load};

/// Returns a valid value for `info`, as it would be written in an environment variable.
fn sample(info: &KeyInfo, secret_file: &Path) -> String {
    match (info.key, info.kind) {
        ("encryption.mode", _) => "none".to_owned(),
        ("verify.level", _) => "full".to_owned(),
        ("log.level", _) => "debug".to_owned(),
        ("log.format", _) => "json".to_owned(),
        ("api.url", _) => "http://127.0.0.1:9/api".to_owned(),
        (_, "integer") => "3".to_owned(),
        (_, "number") => "0.5".to_owned(),
        (_, "boolean") => "true".to_owned(),
        (_, "duration") => "90s".to_owned(),
        (_, "cron") => "15 5 * * *".to_owned(),
        (_, "time zone") => "Europe/Berlin".to_owned(),
        (_, "path" | "path list") => secret_file.display().to_string(),
        (_, "string" | "secret") => "sample-value".to_owned(),
        (key, kind) => panic!("no sample for {key} of kind {kind}"),
    }
}

/// Returns the value of [`sample`] as a TOML value.
fn sample_toml(info: &KeyInfo, secret_file: &Path) -> String {
    let text = sample(info, secret_file);
    match info.kind {
        "integer" | "number" | "boolean" => text,
        "path list" => format!("[{text:?}]"),
        _ => format!("{text:?}"),
    }
}

/// A key that must be set together with `key`, if any.
fn partner(key: &str) -> Option<&'static str> {
    match key {
        "api.login.username" => Some("api.login.password_file"),
        "api.login.password_file" => Some("api.login.username"),
        "api.health_expect_field" => Some("api.health_expect_value"),
        "api.health_expect_value" => Some("api.health_expect_field"),
        _ => None,
    }
}

/// Returns a configuration file that sets `info`.
fn file_setting(info: &KeyInfo, secret_file: &Path) -> String {
    if let Some(field) = info.key.strip_prefix("monitor.notifiers[].") {
        return notifier_setting(field, secret_file);
    }

    let mut keys = vec![info];
    keys.extend(partner(info.key).and_then(invguard_config::find_key));
    // Dotted keys at the top level keep both keys of a pair in one document without repeating
    // a table header.
    let lines: Vec<String> = keys
        .iter()
        .map(|info| format!("{} = {}\n", info.key, sample_toml(info, secret_file)))
        .collect();
    lines.concat()
}

/// Returns a notifier entry that uses `field`.
fn notifier_setting(field: &str, secret_file: &Path) -> String {
    let file = format!("{:?}", secret_file.display().to_string());
    let entry = match field {
        "type" | "url" => "type = \"webhook\"\nurl = \"https://hooks.invalid/x\"".to_owned(),
        "url_file" => format!("type = \"slack\"\nurl_file = {file}"),
        "token" => "type = \"ntfy\"\nurl = \"https://ntfy.invalid/t\"\ntoken = \"tk\"".to_owned(),
        "token_file" => {
            format!("type = \"ntfy\"\nurl = \"https://ntfy.invalid/t\"\ntoken_file = {file}")
        }
        "program" => "type = \"command\"\nprogram = \"/bin/true\"".to_owned(),
        "args" => "type = \"command\"\nprogram = \"/bin/true\"\nargs = [\"-v\"]".to_owned(),
        other => panic!("no sample notifier for {other}"),
    };
    format!("[[monitor.notifiers]]\n{entry}\n")
}

#[test]
fn registry_every_file_key_loads_from_file() {
    let fixture = Fixture::new();
    let secret_file = fixture.write("secret", "value\n");

    for info in keys().iter().filter(|info| info.in_file) {
        let config = fixture.write("invguard.toml", &file_setting(info, &secret_file));

        let loaded = load(Some(&config), &[]);

        let loaded = loaded.unwrap_or_else(|error| panic!("{}: {error}", info.key));
        let origin_key = if info.key.contains("[]") { "monitor.notifiers" } else { info.key };
        assert_eq!(*loaded.origins.get(origin_key), Origin::File(config), "{}", info.key);
    }
}

#[test]
fn registry_every_variable_loads_from_environment() {
    let fixture = Fixture::new();
    let secret_file = fixture.write("secret", "value\n");

    for info in keys() {
        for variable in info.env {
            let value = match *variable {
                "BACKUP_RETENTION_DAYS" | "HEALTH_CHECK_INTERVAL" => "7".to_owned(),
                _ => sample(info, &secret_file),
            };
            let mut pairs = vec![(*variable, value)];
            if let Some(other) = partner(info.key).and_then(invguard_config::find_key) {
                pairs.push((other.env[0], sample(other, &secret_file)));
            }
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();

            let loaded = load(None, &pairs);

            let loaded = loaded.unwrap_or_else(|error| panic!("{variable}: {error}"));
            let origin = Origin::Env((*variable).to_owned());
            assert_eq!(*loaded.origins.get(info.key), origin, "{variable}");
            assert!(loaded.warnings.is_empty(), "{variable}: {:?}", loaded.warnings);
        }
    }
}

#[test]
fn registry_keys_with_default_render_it() {
    let fixture = Fixture::new();
    let password_file = fixture.write("password", "pw\n");
    let password_text = password_file.display().to_string();
    let pairs = [
        ("INVGUARD_API__LOGIN__USERNAME", "monitor"),
        ("INVGUARD_API__LOGIN__PASSWORD_FILE", password_text.as_str()),
    ];

    let loaded = load(None, &pairs).unwrap();
    let rendered: toml::Table = loaded.render_toml().parse().unwrap();

    for info in keys().iter().filter(|info| info.default.is_some()) {
        let mut parts = info.key.split('.');
        let first = rendered.get(parts.next().unwrap());
        let value = parts.fold(first, |value, part| value.and_then(|value| value.get(part)));
        assert!(value.is_some(), "{} is missing from the rendered configuration", info.key);
    }
}

/// Names that could be keys: lower-case words joined by `_`.
fn name_strategy() -> impl Strategy<Value = String> {
    "[a-z][a-z_]{0,15}"
}

/// Tables of the file, including job tables.
fn table_strategy() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "database",
        "backup",
        "encryption",
        "verify",
        "retention",
        "api",
        "api.login",
        "monitor",
        "jobs.backup",
        "jobs.full-check",
        "daemon",
        "state",
        "log",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn registry_unregistered_file_key_is_rejected(table in table_strategy(), name in name_strategy()) {
        let key = format!("{table}.{name}");
        prop_assume!(invguard_config::find_key(&key).is_none());
        let fixture = Fixture::new();
        let config = fixture.write("invguard.toml", &format!("[{table}]\n{name} = 1\n"));

        let error = load(Some(&config), &[]).unwrap_err();

        let is_unknown = matches!(&error, ConfigError::UnknownKey { key: found, .. } if *found == key);
        prop_assert!(is_unknown, "{key}: {error}");
    }

    #[test]
    fn registry_unregistered_variable_is_rejected(table in table_strategy(), name in name_strategy()) {
        let key = format!("{table}.{name}");
        prop_assume!(invguard_config::find_key(&key).is_none());
        let variable = format!("INVGUARD_{}", key.replace('.', "__").replace('-', "_").to_uppercase());

        let error = load(None, &[(variable.as_str(), "1")]).unwrap_err();

        let is_unknown = matches!(&error, ConfigError::UnknownVariable { name, .. } if *name == variable);
        prop_assert!(is_unknown, "{variable}: {error}");
    }
}
