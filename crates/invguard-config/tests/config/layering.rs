//! Precedence of defaults, file and environment, and the mapping of variables to keys.

use std::path::Path;
use std::time::Duration;

use invguard_config::{JobSchedule, Origin};

use crate::{Fixture, env, load};

#[test]
fn load_without_file_or_variables_uses_defaults() {
    let loaded = load(None, &[]).unwrap();

    assert_eq!(loaded.config.backup.dir, Path::new("/app/backups"));
    assert_eq!(*loaded.origins.get("backup.dir"), Origin::Default);
    assert_eq!(loaded.config.retention.keep_last, None);
    assert_eq!(loaded.config.retention.min_keep, 3);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn load_file_overrides_default() {
    let fixture = Fixture::new();
    let file = fixture.write("invguard.toml", "[backup]\ndir = \"/srv/backups\"\n");

    let loaded = load(Some(&file), &[]).unwrap();

    assert_eq!(loaded.config.backup.dir, Path::new("/srv/backups"));
    assert_eq!(*loaded.origins.get("backup.dir"), Origin::File(file));
    assert_eq!(loaded.config.backup.temp_dir, Path::new("/srv/backups/.invguard-tmp"));
    assert_eq!(loaded.config.state.dir, Path::new("/srv/backups/.invguard-state"));
}

#[test]
fn load_environment_overrides_file() {
    let fixture = Fixture::new();
    let file = fixture.write("invguard.toml", "[backup]\ndir = \"/srv/backups\"\n");

    let loaded = load(Some(&file), &[("INVGUARD_BACKUP__DIR", "/mnt/backups")]).unwrap();

    assert_eq!(loaded.config.backup.dir, Path::new("/mnt/backups"));
    let origin = Origin::Env("INVGUARD_BACKUP__DIR".to_owned());
    assert_eq!(*loaded.origins.get("backup.dir"), origin);
}

#[test]
fn load_original_variable_overrides_file() {
    let fixture = Fixture::new();
    let file = fixture.write("invguard.toml", "[backup]\ndir = \"/srv/backups\"\n");

    let loaded = load(Some(&file), &[("BACKUP_PATH", "/legacy/backups")]).unwrap();

    assert_eq!(loaded.config.backup.dir, Path::new("/legacy/backups"));
    assert_eq!(*loaded.origins.get("backup.dir"), Origin::Env("BACKUP_PATH".to_owned()));
}

#[test]
fn load_invguard_variable_wins_over_original_with_warning() {
    let pairs = [("BACKUP_PATH", "/legacy/backups"), ("INVGUARD_BACKUP__DIR", "/new/backups")];

    let loaded = load(None, &pairs).unwrap();

    assert_eq!(loaded.config.backup.dir, Path::new("/new/backups"));
    assert_eq!(
        loaded.warnings,
        ["INVGUARD_BACKUP__DIR and BACKUP_PATH both set backup.dir: using INVGUARD_BACKUP__DIR"]
    );
}

#[test]
fn load_section_variable_keep_last_is_honoured() {
    let loaded = load(None, &[("INVGUARD_RETENTION__KEEP_LAST", "7")]).unwrap();

    assert_eq!(loaded.config.retention.keep_last, Some(7));
    let origin = Origin::Env("INVGUARD_RETENTION__KEEP_LAST".to_owned());
    assert_eq!(*loaded.origins.get("retention.keep_last"), origin);
}

#[test]
fn load_config_variable_names_file() {
    let fixture = Fixture::new();
    let file = fixture.write("invguard.toml", "[retention]\nkeep_daily = 14\n");
    let file_text = file.display().to_string();

    let loaded = load(None, &[("INVGUARD_CONFIG", &file_text)]).unwrap();

    assert_eq!(loaded.config.retention.keep_daily, Some(14));
    assert_eq!(loaded.file.as_deref(), Some(file.as_path()));
}

#[test]
fn load_option_file_wins_over_config_variable() {
    let fixture = Fixture::new();
    let chosen = fixture.write("chosen.toml", "[retention]\nkeep_daily = 3\n");
    let ignored = fixture.write("ignored.toml", "[retention]\nkeep_daily = 99\n");
    let ignored_text = ignored.display().to_string();

    let loaded = load(Some(&chosen), &[("INVGUARD_CONFIG", &ignored_text)]).unwrap();

    assert_eq!(loaded.config.retention.keep_daily, Some(3));
}

#[test]
fn load_unrelated_variables_are_never_keys() {
    let pairs = [
        ("PATH", "/usr/local/bin:/usr/bin"),
        ("HOME", "/root"),
        ("USER", "root"),
        ("LANG", "C.UTF-8"),
        ("HOSTNAME", "backup"),
        ("DIR", "/elsewhere"),
    ];

    let loaded = load(None, &pairs).unwrap();

    let set: Vec<(&str, &Origin)> =
        loaded.origins.iter().filter(|(_, origin)| **origin != Origin::Default).collect();
    assert_eq!(set, [("timezone", &Origin::Env("TZ".to_owned()))]);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn load_nested_job_variables() {
    let pairs = [
        ("INVGUARD_JOBS__BACKUP__SCHEDULE", "30 1 * * *"),
        ("INVGUARD_JOBS__FULL_CHECK__MAX_RUNTIME", "3h"),
        ("INVGUARD_JOBS__MAINTENANCE__ENABLED", "false"),
    ];

    let loaded = load(None, &pairs).unwrap();

    let jobs = &loaded.config.jobs.jobs;
    assert_eq!(jobs["backup"].schedule, JobSchedule::Cron("30 1 * * *".to_owned()));
    assert_eq!(jobs["full-check"].max_runtime, Duration::from_secs(3 * 3600));
    assert!(!jobs["maintenance"].enabled);
}

#[test]
fn load_top_level_timezone_variable() {
    let loaded = load(None, &[("INVGUARD_TIMEZONE", "Europe/Berlin")]).unwrap();

    assert_eq!(loaded.config.timezone, chrono_tz::Europe::Berlin);
    let origin = Origin::Env("INVGUARD_TIMEZONE".to_owned());
    assert_eq!(*loaded.origins.get("timezone"), origin);
}

#[test]
fn load_tz_ranks_below_file() {
    let fixture = Fixture::new();
    let file = fixture.write("invguard.toml", "timezone = \"America/New_York\"\n");

    let from_tz = load(None, &[("TZ", ":Europe/Paris")]).unwrap();
    let from_file = load(Some(&file), &[("TZ", "Europe/Paris")]).unwrap();

    assert_eq!(from_tz.config.timezone, chrono_tz::Europe::Paris);
    assert_eq!(from_file.config.timezone, chrono_tz::America::New_York);
}

#[test]
fn load_invalid_tz_warns_and_falls_back() {
    let loaded = load(None, &[("TZ", "EST+5")]).unwrap();

    assert_eq!(
        loaded.warnings,
        ["TZ=\"EST+5\" is not an IANA time zone name: using the system time zone"]
    );
}

#[test]
fn load_list_variable_is_comma_separated() {
    let pairs = [("INVGUARD_ENCRYPTION__RECIPIENTS", "/keys/a.asc,/keys/b.asc")];

    let loaded = load(None, &pairs).unwrap();

    assert_eq!(
        loaded.config.encryption.recipients,
        [Path::new("/keys/a.asc"), Path::new("/keys/b.asc")]
    );
}

#[test]
fn load_health_interval_follows_monitor_interval() {
    let fixture = Fixture::new();
    let file = fixture.write("invguard.toml", "[monitor]\ninterval = \"2m\"\n");

    let loaded = load(Some(&file), &[]).unwrap();

    let health = &loaded.config.jobs.jobs["health"];
    assert_eq!(health.schedule, JobSchedule::Interval(Duration::from_secs(120)));
    assert_eq!(*loaded.origins.get("jobs.health.interval"), Origin::File(file));
}

#[test]
fn load_job_interval_replaces_default_schedule() {
    let loaded = load(None, &[("INVGUARD_JOBS__BACKUP__INTERVAL", "4h")]).unwrap();

    let backup = &loaded.config.jobs.jobs["backup"];
    assert_eq!(backup.schedule, JobSchedule::Interval(Duration::from_secs(4 * 3600)));
}

#[test]
fn load_job_defaults() {
    let loaded = load(None, &[]).unwrap();

    let jobs = &loaded.config.jobs;
    assert_eq!(jobs.grace_period, Duration::from_secs(8));
    let backup = &jobs.jobs["backup"];
    assert_eq!(backup.schedule, JobSchedule::Cron("0 2 * * *".to_owned()));
    assert_eq!(backup.catch_up, Duration::from_secs(24 * 3600));
    assert_eq!(backup.retries, 2);
    assert_eq!(backup.retry_backoff, Duration::from_secs(60));
    assert_eq!(backup.max_runtime, Duration::from_secs(6 * 3600));
    let health = &jobs.jobs["health"];
    assert_eq!(health.schedule, JobSchedule::Interval(Duration::from_secs(300)));
    assert_eq!(health.catch_up, Duration::ZERO);
    assert_eq!(health.retries, 0);
    assert_eq!(health.max_runtime, Duration::from_secs(300));
    let maintenance = &jobs.jobs["maintenance"];
    assert_eq!(maintenance.schedule, JobSchedule::Cron("0 3 * * 0".to_owned()));
    assert_eq!(maintenance.max_runtime, Duration::from_secs(3600));
    let full_check = &jobs.jobs["full-check"];
    assert_eq!(full_check.schedule, JobSchedule::Cron("0 4 1 * *".to_owned()));
    assert_eq!(full_check.max_runtime, Duration::from_secs(12 * 3600));
}

#[test]
fn load_empty_variable_is_ignored_with_warning() {
    let loaded = load(None, &[("INVGUARD_RETENTION__KEEP_LAST", "")]).unwrap();

    assert_eq!(loaded.config.retention.keep_last, None);
    assert_eq!(loaded.warnings, ["INVGUARD_RETENTION__KEEP_LAST is set but empty: it is ignored"]);
}

#[test]
fn env_helper_pins_time_zone() {
    assert_eq!(env(&[]).get("TZ").map(String::as_str), Some("UTC"));
}
