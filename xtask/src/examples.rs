//! Tests that the example configurations of the repository load and pass validation:
//! `config.example.toml`, the container environment of the `Dockerfile` and
//! `docker-compose.example.yml`, and the environment of the systemd units.
//!
//! Each example is loaded with `invguard_config::Config::load`, the loader the binaries use.
//! Secret files that the examples name (`/run/secrets/...`) are replaced by temporary files, and
//! the stop timeouts of Compose and systemd are compared with the daemon's grace period.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use invguard_config::{Config, LoadOptions, Loaded};

use crate::dist::{SYSTEMD_DIR, SYSTEMD_UNITS};
use crate::tidy::{dockerfile_instructions, workspace_root};

/// Directory in which Compose mounts the secrets of a service.
const COMPOSE_SECRETS_DIR: &str = "/run/secrets/";

/// The configuration file that the systemd units name in `INVGUARD_CONFIG`.
const SYSTEMD_CONFIG_FILE: &str = "/etc/invguard/config.toml";

/// Writes a secret file with mode 0600, as the examples ask the operator to.
fn write_secret(path: &Path) {
    fs_err::create_dir_all(path.parent().unwrap()).unwrap();
    fs_err::write(path, "example secret\n").unwrap();
    fs_err::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// Loads the configuration from `file` and `env` alone, panicking with the loader's message.
fn load(file: Option<PathBuf>, env: &HashMap<String, String>) -> Loaded {
    let options = LoadOptions { file, env: Some(env.clone()) };
    Config::load(&options).unwrap_or_else(|error| panic!("example does not load: {error}"))
}

/// Parses a duration written as `30s`, `2m` or `1h`, the forms the examples use.
fn parse_duration(text: &str) -> Duration {
    let text = text.trim().trim_matches('"');
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap());
    let number: u64 = number.parse().unwrap();
    match unit {
        "s" => Duration::from_secs(number),
        "m" | "min" => Duration::from_secs(number * 60),
        "h" => Duration::from_secs(number * 3600),
        other => panic!("unknown duration unit {other:?} in {text:?}"),
    }
}

/// Returns the `ENV` variables of the Dockerfile's final stage.
fn dockerfile_env(text: &str) -> HashMap<String, String> {
    let mut env = HashMap::new();
    for (_, instruction) in dockerfile_instructions(text) {
        let mut words = instruction.split_whitespace();
        if words.next() == Some("FROM") {
            env.clear();
            continue;
        }
        if !instruction.starts_with("ENV ") {
            continue;
        }
        for word in words {
            let (key, value) = word.split_once('=').expect("ENV in KEY=value form");
            env.insert(key.to_owned(), value.trim_matches('"').to_owned());
        }
    }
    env
}

/// One service of a Compose file, as far as these tests read it.
#[derive(Debug, Default)]
struct ComposeService {
    environment: HashMap<String, String>,
    secrets: Vec<String>,
    user: Option<String>,
    build_args: HashMap<String, String>,
    stop_grace_period: Option<String>,
}

/// Reads the Compose file's service `name` and its top-level secret names.
///
/// This reads the block style of the example (two-space indents, `KEY: value` mappings,
/// `- item` lists) and is not a general YAML parser. It panics on a line it cannot read, so a
/// change of style fails the tests instead of being skipped.
fn read_compose(text: &str, name: &str) -> (ComposeService, Vec<String>) {
    let mut service = ComposeService::default();
    let mut top_level_secrets = Vec::new();
    let mut section: Vec<String> = Vec::new();

    for line in text.lines() {
        let content = line.split(" #").next().unwrap_or("").trim_end();
        let trimmed = content.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let depth = (content.len() - trimmed.len()) / 2;
        section.truncate(depth);

        if let Some(item) = trimmed.strip_prefix("- ") {
            if section == ["services", name, "secrets"] {
                service.secrets.push(item.to_owned());
            }
            continue;
        }
        let (key, value) = trimmed.split_once(':').expect("a `key: value` line");
        let value = value.trim().trim_matches('"').to_owned();
        if section == ["secrets"] {
            top_level_secrets.push(key.to_owned());
        }
        if value.is_empty() {
            section.push(key.to_owned());
            continue;
        }
        let path: Vec<&str> = section.iter().map(String::as_str).collect();
        match path.as_slice() {
            ["services", service_name, "environment"] if *service_name == name => {
                service.environment.insert(key.to_owned(), value);
            }
            ["services", service_name, "build", "args"] if *service_name == name => {
                service.build_args.insert(key.to_owned(), value);
            }
            ["services", service_name] if *service_name == name && key == "user" => {
                service.user = Some(value);
            }
            ["services", service_name] if *service_name == name && key == "stop_grace_period" => {
                service.stop_grace_period = Some(value);
            }
            _ => {}
        }
    }
    (service, top_level_secrets)
}

#[test]
fn example_config_toml_loads() {
    let dir = tempfile::tempdir().unwrap();
    let passphrase_file = dir.path().join("passphrase");
    write_secret(&passphrase_file);
    let env = HashMap::from([
        ("GPG_PASSPHRASE_FILE".to_owned(), passphrase_file.display().to_string()),
        ("TZ".to_owned(), "UTC".to_owned()),
    ]);

    let loaded = load(Some(workspace_root().join("config.example.toml")), &env);

    assert_eq!(loaded.warnings, Vec::<String>::new());
    let config = &loaded.config;
    assert_eq!(config.database.path, Path::new("/app/data/inventory.db"));
    assert_eq!(config.backup.dir, Path::new("/app/backups"));
    config.require_encryption_keys().unwrap();
}

#[test]
fn example_compose_environment_loads() {
    let root = workspace_root();
    let compose = fs_err::read_to_string(root.join("docker-compose.example.yml")).unwrap();
    let dockerfile = fs_err::read_to_string(root.join("Dockerfile")).unwrap();
    let (service, declared_secrets) = read_compose(&compose, "invguard-cron");
    assert!(!service.environment.is_empty(), "no environment read from the Compose example");

    // The container's environment is the image's ENV, overridden by the service's environment.
    // Each `/run/secrets/NAME` file is replaced by a temporary one.
    let dir = tempfile::tempdir().unwrap();
    let mut env = dockerfile_env(&dockerfile);
    for (key, value) in &service.environment {
        let value = match value.strip_prefix(COMPOSE_SECRETS_DIR) {
            Some(secret) => {
                assert!(
                    service.secrets.contains(&secret.to_owned()),
                    "{key}: {secret} not mounted"
                );
                assert!(declared_secrets.contains(&secret.to_owned()), "{secret} not declared");
                let path = dir.path().join(secret);
                write_secret(&path);
                path.display().to_string()
            }
            None => value.clone(),
        };
        env.insert(key.clone(), value);
    }
    env.insert("TZ".to_owned(), "UTC".to_owned());

    let loaded = load(None, &env);

    assert_eq!(loaded.warnings, Vec::<String>::new());
    let config = &loaded.config;
    assert_eq!(config.database.path, Path::new("/app/data/inventory.db"));
    assert_eq!(config.backup.dir, Path::new("/app/backups"));
    assert_eq!(config.state.dir, Path::new("/app/state"));
    assert_eq!(config.retention.keep_within, Some(Duration::from_secs(30 * 24 * 3600)));
    config.require_encryption_keys().unwrap();

    // Docker must wait longer than the daemon's grace period before it sends SIGKILL.
    let stop_grace_period = parse_duration(service.stop_grace_period.as_deref().unwrap());
    assert!(stop_grace_period > config.jobs.grace_period, "stop_grace_period too short");

    // The image is built for the same uid:gid the service runs as.
    let build_ids =
        format!("{}:{}", service.build_args["INVGUARD_UID"], service.build_args["INVGUARD_GID"]);
    assert_eq!(service.user.as_deref(), Some(build_ids.as_str()));
}

#[test]
fn example_systemd_environment_loads() {
    let root = workspace_root();
    let dir = tempfile::tempdir().unwrap();
    let passphrase_file = dir.path().join("passphrase");
    write_secret(&passphrase_file);

    for unit in SYSTEMD_UNITS.iter().filter(|unit| unit.ends_with(".service")) {
        let text = fs_err::read_to_string(root.join(SYSTEMD_DIR).join(unit)).unwrap();
        let mut env = HashMap::from([
            ("GPG_PASSPHRASE_FILE".to_owned(), passphrase_file.display().to_string()),
            ("TZ".to_owned(), "UTC".to_owned()),
        ]);
        for line in text.lines() {
            let Some(assignment) = line.strip_prefix("Environment=") else { continue };
            let (key, value) = assignment.split_once('=').unwrap();
            env.insert(key.to_owned(), value.to_owned());
        }
        // The units read the example configuration once it is installed in /etc/invguard.
        assert_eq!(env.get("INVGUARD_CONFIG").map(String::as_str), Some(SYSTEMD_CONFIG_FILE));
        env.insert(
            "INVGUARD_CONFIG".to_owned(),
            root.join("config.example.toml").display().to_string(),
        );

        let loaded = load(None, &env);

        assert_eq!(loaded.warnings, Vec::<String>::new(), "{unit}");
        let timeout = text.lines().find_map(|line| line.strip_prefix("TimeoutStopSec="));
        if let Some(timeout) = timeout {
            assert!(parse_duration(timeout) > loaded.config.jobs.grace_period, "{unit}");
        }
    }
}

#[test]
fn read_compose_reads_nested_blocks() {
    let text = "services:\n  a:\n    user: \"1:2\"\n    environment:\n      X: \"1\" # c\n\
                \x20 b:\n    environment:\n      Y: 2\n    secrets:\n      - s\nsecrets:\n  s:\n";

    let (service, secrets) = read_compose(text, "a");

    assert_eq!(service.environment, HashMap::from([("X".to_owned(), "1".to_owned())]));
    assert_eq!(service.user.as_deref(), Some("1:2"));
    assert_eq!(service.secrets, Vec::<String>::new());
    assert_eq!(secrets, vec!["s".to_owned()]);
}
