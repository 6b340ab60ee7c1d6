//! The variables of the original Python service.

use std::path::Path;
use std::time::Duration;

use invguard_config::{JobSchedule, LogLevel, Origin};

use crate::{Fixture, error_chain, load};

#[test]
fn load_original_path_and_url_variables() {
    let pairs = [
        ("DATABASE_PATH", "/data/inventory.db"),
        ("BACKUP_PATH", "/data/backups"),
        ("API_URL", "http://127.0.0.1:5000/api"),
    ];

    let loaded = load(None, &pairs).unwrap();

    assert_eq!(loaded.config.database.path, Path::new("/data/inventory.db"));
    assert_eq!(loaded.config.backup.dir, Path::new("/data/backups"));
    assert_eq!(loaded.config.api.url, "http://127.0.0.1:5000/api");
    assert_eq!(*loaded.origins.get("api.url"), Origin::Env("API_URL".to_owned()));
}

#[test]
fn load_backup_retention_days_sets_keep_within() {
    let loaded = load(None, &[("BACKUP_RETENTION_DAYS", "30")]).unwrap();

    assert_eq!(loaded.config.retention.keep_within, Some(Duration::from_secs(30 * 86_400)));
    let origin = Origin::Env("BACKUP_RETENTION_DAYS".to_owned());
    assert_eq!(*loaded.origins.get("retention.keep_within"), origin);
}

#[test]
fn load_backup_retention_days_rejects_non_positive_numbers() {
    for value in ["abc", "-1", "0", "1.5", "30d"] {
        let error = load(None, &[("BACKUP_RETENTION_DAYS", value)]).unwrap_err();

        let message = error_chain(&error);
        assert!(message.contains(&format!("{value:?}")), "{message}");
        assert!(message.contains("BACKUP_RETENTION_DAYS"), "{message}");
        assert!(message.contains("a positive whole number of days"), "{message}");
    }
}

#[test]
fn load_health_check_interval_sets_monitor_and_health_job() {
    let loaded = load(None, &[("HEALTH_CHECK_INTERVAL", "60")]).unwrap();

    assert_eq!(loaded.config.monitor.interval, Duration::from_secs(60));
    let health = &loaded.config.jobs.jobs["health"];
    assert_eq!(health.schedule, JobSchedule::Interval(Duration::from_secs(60)));
    let origin = Origin::Env("HEALTH_CHECK_INTERVAL".to_owned());
    assert_eq!(*loaded.origins.get("jobs.health.interval"), origin);
}

#[test]
fn load_health_check_interval_rejects_non_positive_numbers() {
    for value in ["0", "-5", "5m", "soon"] {
        let error = load(None, &[("HEALTH_CHECK_INTERVAL", value)]).unwrap_err();

        let message = error_chain(&error);
        assert!(message.contains("HEALTH_CHECK_INTERVAL"), "{message}");
        assert!(message.contains("a positive whole number of seconds"), "{message}");
    }
}

#[test]
fn load_log_level_accepts_names_in_any_case() {
    let cases = [
        ("DEBUG", LogLevel::Debug),
        ("debug", LogLevel::Debug),
        ("Info", LogLevel::Info),
        ("WARN", LogLevel::Warning),
        ("warning", LogLevel::Warning),
        ("Warning", LogLevel::Warning),
        ("ERROR", LogLevel::Error),
        ("error", LogLevel::Error),
        ("CRITICAL", LogLevel::Critical),
        ("critical", LogLevel::Critical),
    ];

    for (written, level) in cases {
        let loaded = load(None, &[("LOG_LEVEL", written)]).unwrap();
        assert_eq!(loaded.config.log.level, level, "LOG_LEVEL={written}");
    }
}

#[test]
fn load_log_level_rejects_unknown_names() {
    for written in ["TRACE", "verbose", "3"] {
        let error = load(None, &[("LOG_LEVEL", written)]).unwrap_err();

        let message = error_chain(&error);
        assert!(message.contains(&format!("{written:?}")), "{message}");
        assert!(message.contains("DEBUG, INFO, WARNING (or WARN), ERROR or CRITICAL"), "{message}");
    }
}

#[test]
fn load_api_token_variable() {
    let loaded = load(None, &[("API_TOKEN", "token-from-env")]).unwrap();

    let token = loaded.config.api.token.as_ref().unwrap();
    assert_eq!(token.expose(), "token-from-env");
}

#[test]
fn load_api_token_file_variable() {
    let fixture = Fixture::new();
    let token_file = fixture.write("token", "token-from-file\n");
    let token_file_text = token_file.display().to_string();

    let loaded = load(None, &[("API_TOKEN_FILE", &token_file_text)]).unwrap();

    let token = loaded.config.api.token.as_ref().unwrap();
    assert_eq!(token.expose(), "token-from-file");
}

#[test]
fn load_gpg_passphrase_variable() {
    let loaded = load(None, &[("GPG_PASSPHRASE", "passphrase-from-env")]).unwrap();

    let passphrase = loaded.config.encryption.passphrase.as_ref().unwrap();
    assert_eq!(passphrase.expose(), "passphrase-from-env");
}
