//! Round trips: generated configuration files load to the values they hold, and the rendered
//! configuration loads to the same configuration.

use std::path::PathBuf;
use std::time::Duration;

use invguard_config::{EncryptionMode, JobSchedule, Loaded, LogFormat, LogLevel, VerifyLevel};
use proptest::prelude::*;
use toml::{Table, Value};

use crate::{Fixture, load};

/// Values for one generated configuration file.
#[derive(Debug, Clone)]
struct Generated {
    timezone: &'static str,
    database_path: PathBuf,
    database_name: String,
    backup_dir: PathBuf,
    compression_level: i32,
    mode: (&'static str, EncryptionMode),
    verify: (&'static str, VerifyLevel),
    keep: [Option<u32>; 6],
    keep_within_seconds: Option<u64>,
    min_keep: u32,
    include_legacy: bool,
    low_stock_percentage: f64,
    reminder_seconds: u64,
    backup_schedule: Result<&'static str, u64>,
    log_level: (&'static str, LogLevel),
    log_format: (&'static str, LogFormat),
}

const KEEP_KEYS: [&str; 6] =
    ["keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly"];

fn path_strategy() -> impl Strategy<Value = PathBuf> {
    prop::collection::vec("[a-z0-9_.-]{1,8}", 1..4)
        .prop_filter("no . or .. parts", |parts| {
            parts.iter().all(|part| part != "." && part != "..")
        })
        .prop_map(|parts| PathBuf::from(format!("/{}", parts.join("/"))))
}

prop_compose! {
    fn generated()(
        timezone in prop::sample::select(vec!["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]),
        database_path in path_strategy(),
        database_name in "[A-Za-z0-9_-]{1,12}",
        backup_dir in path_strategy(),
        compression_level in 1..=19i32,
        mode in prop::sample::select(vec![
            ("passphrase", EncryptionMode::Passphrase),
            ("public-key", EncryptionMode::PublicKey),
            ("none", EncryptionMode::None),
        ]),
        verify in prop::sample::select(vec![("quick", VerifyLevel::Quick), ("full", VerifyLevel::Full)]),
        keep in prop::array::uniform6(prop::option::of(0..1000u32)),
        keep_within_seconds in prop::option::of(0..100_000_000u64),
        min_keep in 0..50u32,
        include_legacy in any::<bool>(),
        low_stock_percentage in 0.0..=1.0f64,
        reminder_seconds in 0..10_000_000u64,
        backup_schedule in prop_oneof![
            prop::sample::select(vec!["0 2 * * *", "*/15 * * * *", "30 1 1,15 * mon-fri"]).prop_map(Ok),
            (1..1_000_000u64).prop_map(Err),
        ],
        log_level in prop::sample::select(vec![
            ("debug", LogLevel::Debug),
            ("INFO", LogLevel::Info),
            ("Warn", LogLevel::Warning),
            ("error", LogLevel::Error),
            ("CRITICAL", LogLevel::Critical),
        ]),
        log_format in prop::sample::select(vec![("text", LogFormat::Text), ("json", LogFormat::Json)]),
    ) -> Generated {
        Generated {
            timezone, database_path, database_name, backup_dir, compression_level, mode, verify,
            keep, keep_within_seconds, min_keep, include_legacy, low_stock_percentage,
            reminder_seconds, backup_schedule, log_level, log_format,
        }
    }
}

fn table(entries: Vec<(&str, Value)>) -> Value {
    Value::Table(entries.into_iter().map(|(key, value)| (key.to_owned(), value)).collect())
}

fn text(value: impl ToString) -> Value {
    Value::String(value.to_string())
}

/// Writes the generated values as a TOML document.
fn to_toml(generated: &Generated) -> String {
    let mut retention: Vec<(&str, Value)> = KEEP_KEYS
        .iter()
        .zip(generated.keep)
        .filter_map(|(key, keep)| Some((*key, Value::Integer(keep?.into()))))
        .collect();
    if let Some(seconds) = generated.keep_within_seconds {
        retention.push(("keep_within", text(format!("{seconds}s"))));
    }
    retention.push(("min_keep", Value::Integer(generated.min_keep.into())));
    retention.push(("include_legacy", Value::Boolean(generated.include_legacy)));

    let backup_job = match generated.backup_schedule {
        Ok(cron) => ("schedule", text(cron)),
        Err(seconds) => ("interval", text(format!("{seconds}s"))),
    };

    let mut document = Table::new();
    document.insert("timezone".to_owned(), text(generated.timezone));
    document.insert(
        "database".to_owned(),
        table(vec![
            ("path", text(generated.database_path.display())),
            ("name", text(&generated.database_name)),
        ]),
    );
    document.insert(
        "backup".to_owned(),
        table(vec![
            ("dir", text(generated.backup_dir.display())),
            ("compression_level", Value::Integer(generated.compression_level.into())),
        ]),
    );
    document.insert("encryption".to_owned(), table(vec![("mode", text(generated.mode.0))]));
    document.insert("verify".to_owned(), table(vec![("level", text(generated.verify.0))]));
    document.insert("retention".to_owned(), table(retention));
    document.insert(
        "monitor".to_owned(),
        table(vec![
            ("low_stock_percentage", Value::Float(generated.low_stock_percentage)),
            ("reminder_interval", text(format!("{}s", generated.reminder_seconds))),
        ]),
    );
    document.insert("jobs".to_owned(), table(vec![("backup", table(vec![backup_job]))]));
    document.insert(
        "log".to_owned(),
        table(vec![
            ("level", text(generated.log_level.0)),
            ("format", text(generated.log_format.0)),
        ]),
    );
    toml::to_string(&document).unwrap()
}

/// Drops the origin comments, which name the file each configuration came from.
fn without_comments(rendered: &str) -> String {
    let lines: Vec<&str> = rendered
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| line.split("  # ").next().unwrap_or(line))
        .collect();
    lines.join("\n")
}

fn check_values(loaded: &Loaded, generated: &Generated) -> Result<(), TestCaseError> {
    let config = &loaded.config;
    prop_assert_eq!(config.timezone.name(), generated.timezone);
    prop_assert_eq!(&config.database.path, &generated.database_path);
    prop_assert_eq!(&config.database.name, &generated.database_name);
    prop_assert_eq!(&config.backup.dir, &generated.backup_dir);
    prop_assert_eq!(config.backup.temp_dir.clone(), generated.backup_dir.join(".invguard-tmp"));
    prop_assert_eq!(config.backup.compression_level, generated.compression_level);
    prop_assert_eq!(config.encryption.mode, generated.mode.1);
    prop_assert_eq!(config.verify.level, generated.verify.1);

    let retention = &config.retention;
    let keep = [
        retention.keep_last,
        retention.keep_hourly,
        retention.keep_daily,
        retention.keep_weekly,
        retention.keep_monthly,
        retention.keep_yearly,
    ];
    prop_assert_eq!(keep, generated.keep);
    prop_assert_eq!(retention.keep_within, generated.keep_within_seconds.map(Duration::from_secs));
    prop_assert_eq!(retention.min_keep, generated.min_keep);
    prop_assert_eq!(retention.include_legacy, generated.include_legacy);

    let monitor = &config.monitor;
    prop_assert_eq!(monitor.low_stock_percentage, generated.low_stock_percentage);
    prop_assert_eq!(monitor.reminder_interval, Duration::from_secs(generated.reminder_seconds));

    let expected_schedule = match generated.backup_schedule {
        Ok(cron) => JobSchedule::Cron(cron.to_owned()),
        Err(seconds) => JobSchedule::Interval(Duration::from_secs(seconds)),
    };
    prop_assert_eq!(&config.jobs.jobs["backup"].schedule, &expected_schedule);
    prop_assert_eq!(config.log.level, generated.log_level.1);
    prop_assert_eq!(config.log.format, generated.log_format.1);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn load_generated_file_round_trips(generated in generated()) {
        let fixture = Fixture::new();
        let first_file = fixture.write("generated.toml", &to_toml(&generated));

        let first = load(Some(&first_file), &[]).unwrap();
        check_values(&first, &generated)?;

        let rendered = first.render_toml();
        let second_file = fixture.write("rendered.toml", &rendered);
        let second = load(Some(&second_file), &[]).unwrap();
        check_values(&second, &generated)?;
        prop_assert_eq!(without_comments(&second.render_toml()), without_comments(&rendered));
    }
}
