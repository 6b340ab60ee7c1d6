//! The registry of every configuration key: its environment variables, kind and default.
//!
//! The loader accepts exactly the keys listed here, takes the static defaults from here, and
//! the configuration reference in `docs/configuration.md` is generated from it.

use std::sync::LazyLock;

/// One configuration key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyInfo {
    /// Dotted key as written in TOML, such as `retention.keep_last`. Keys of the entries of the
    /// `[[monitor.notifiers]]` array are written `monitor.notifiers[].url`.
    pub key: &'static str,
    /// Environment variables that set the key: the `INVGUARD_` spelling first, then the
    /// variables of the original service, which the `INVGUARD_` spelling overrides.
    pub env: &'static [&'static str],
    /// Kind of value, such as `integer`, `duration` or `path`.
    pub kind: &'static str,
    /// Built-in default in the form an operator would write it, or `None` when the key is unset
    /// by default or its default is computed (the description gives the rule).
    pub default: Option<&'static str>,
    /// One-sentence description of the key.
    pub description: &'static str,
    /// Whether the value is a secret that is never shown.
    pub secret: bool,
    /// Whether the key may appear in the configuration file. Some secrets are accepted only from
    /// the environment or from a file named by another key.
    pub in_file: bool,
}

/// Names of the daemon's jobs, in documentation order.
pub const JOB_NAMES: [&str; 4] = ["backup", "health", "maintenance", "full-check"];

/// The key of the `[[monitor.notifiers]]` array of tables.
pub(crate) const NOTIFIERS_KEY: &str = "monitor.notifiers";

/// Returns every configuration key, in documentation order.
pub fn keys() -> &'static [KeyInfo] {
    KEYS.as_slice()
}

/// Returns the registry entry of a dotted key.
pub fn find_key(key: &str) -> Option<&'static KeyInfo> {
    keys().iter().find(|info| info.key == key)
}

/// Returns the registry entry whose `INVGUARD_` variable is `name`.
pub(crate) fn find_invguard_variable(name: &str) -> Option<&'static KeyInfo> {
    keys().iter().find(|info| info.env.first() == Some(&name))
}

/// Returns whether `prefix` names a table that contains keys, such as `retention` or `jobs.backup`.
pub(crate) fn is_table(prefix: &str) -> bool {
    keys()
        .iter()
        .any(|info| info.key.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('.')))
}

/// Returns the known key nearest to an unknown dotted key: the unknown last part is compared with
/// the names of the same table, so `backup.colour` suggests nothing rather than `backup.dir`.
pub(crate) fn nearest_key(unknown: &str) -> Option<String> {
    let (table, name) = unknown.rsplit_once('.').unwrap_or(("", unknown));
    let names = children(table);
    let found = nearest(name, names.iter().copied())?;
    Some(if table.is_empty() { found.to_owned() } else { format!("{table}.{found}") })
}

/// Returns the names of the keys and tables directly inside `table` ("" for the top level).
fn children(table: &str) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = keys()
        .iter()
        .filter_map(|info| {
            let rest = if table.is_empty() {
                info.key
            } else {
                info.key.strip_prefix(table)?.strip_prefix('.')?
            };
            rest.split('.').next()
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Returns the candidate closest to `unknown` in edit distance (Damerau-Levenshtein, case
/// ignored), if it is close enough to be the same name misspelt: at most one edit per four
/// characters of `unknown`, and at least one. `keep_lats` suggests `keep_last`; `bogus`
/// suggests nothing.
pub(crate) fn nearest<'a>(
    unknown: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let unknown = unknown.to_lowercase();
    let limit = (unknown.chars().count() / 4).max(1);

    candidates
        .map(|candidate| {
            (strsim::damerau_levenshtein(&unknown, &candidate.to_lowercase()), candidate)
        })
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Builds the entry of a key that may appear in the configuration file and is no secret.
const fn key(
    key: &'static str,
    env: &'static [&'static str],
    kind: &'static str,
    default: Option<&'static str>,
    description: &'static str,
) -> KeyInfo {
    KeyInfo { key, env, kind, default, description, secret: false, in_file: true }
}

/// Builds the entry of a key whose value is a secret.
const fn secret(
    key: &'static str,
    env: &'static [&'static str],
    in_file: bool,
    description: &'static str,
) -> KeyInfo {
    KeyInfo { key, env, kind: "secret", default: None, description, secret: true, in_file }
}

/// The keys of one `[jobs.<name>]` table.
macro_rules! job_keys {
    (
        $job:literal, $env:literal,
        schedule: $schedule:expr,
        interval: $interval:literal,
        max_runtime: $max_runtime:literal,
        catch_up: $catch_up:literal,
        retries: $retries:literal $(,)?
    ) => {
        [
            key(
                concat!("jobs.", $job, ".enabled"),
                &[concat!("INVGUARD_JOBS__", $env, "__ENABLED")],
                "boolean",
                Some("true"),
                "Whether the daemon runs this job.",
            ),
            key(
                concat!("jobs.", $job, ".schedule"),
                &[concat!("INVGUARD_JOBS__", $env, "__SCHEDULE")],
                "cron",
                $schedule,
                concat!(
                    "Cron expression in the job's time zone: five fields (minute hour ",
                    "day-of-month month day-of-week), six with a leading seconds field, or a ",
                    "macro such as `@daily`; set either `schedule` or `interval`."
                ),
            ),
            key(
                concat!("jobs.", $job, ".interval"),
                &[concat!("INVGUARD_JOBS__", $env, "__INTERVAL")],
                "duration",
                None,
                $interval,
            ),
            key(
                concat!("jobs.", $job, ".timezone"),
                &[concat!("INVGUARD_JOBS__", $env, "__TIMEZONE")],
                "time zone",
                None,
                "IANA time zone of the schedule; defaults to the top-level `timezone`.",
            ),
            key(
                concat!("jobs.", $job, ".max_runtime"),
                &[concat!("INVGUARD_JOBS__", $env, "__MAX_RUNTIME")],
                "duration",
                Some($max_runtime),
                "Run time after which the job is stopped.",
            ),
            key(
                concat!("jobs.", $job, ".catch_up"),
                &[concat!("INVGUARD_JOBS__", $env, "__CATCH_UP")],
                "duration",
                Some($catch_up),
                "How far back a run missed while the daemon was down is caught up at start-up; `0s` catches nothing up.",
            ),
            key(
                concat!("jobs.", $job, ".retries"),
                &[concat!("INVGUARD_JOBS__", $env, "__RETRIES")],
                "integer",
                Some($retries),
                "Retries after a failed run.",
            ),
            key(
                concat!("jobs.", $job, ".retry_backoff"),
                &[concat!("INVGUARD_JOBS__", $env, "__RETRY_BACKOFF")],
                "duration",
                Some("60s"),
                "Delay before the first retry; it doubles for each further retry.",
            ),
            secret(
                concat!("jobs.", $job, ".ping_url"),
                &[concat!("INVGUARD_JOBS__", $env, "__PING_URL")],
                true,
                "Healthchecks-style ping URL, called as `URL/start`, `URL` and `URL/fail`; a secret because such URLs carry their token.",
            ),
            key(
                concat!("jobs.", $job, ".ping_url_file"),
                &[concat!("INVGUARD_JOBS__", $env, "__PING_URL_FILE")],
                "path",
                None,
                "File that contains the ping URL, in place of `ping_url`.",
            ),
        ]
    };
}

static KEYS: LazyLock<Vec<KeyInfo>> = LazyLock::new(|| {
    let mut all = Vec::new();
    all.extend(GENERAL_KEYS);
    all.extend(job_keys!(
        "backup", "BACKUP",
        schedule: Some("0 2 * * *"),
        interval: "Fixed interval between runs, in place of `schedule`.",
        max_runtime: "6h",
        catch_up: "24h",
        retries: "2",
    ));
    all.extend(job_keys!(
        "health", "HEALTH",
        schedule: None,
        interval: "Fixed interval between runs, in place of `schedule`; defaults to `monitor.interval` (`HEALTH_CHECK_INTERVAL`).",
        max_runtime: "5m",
        catch_up: "0s",
        retries: "0",
    ));
    all.extend(job_keys!(
        "maintenance", "MAINTENANCE",
        schedule: Some("0 3 * * 0"),
        interval: "Fixed interval between runs, in place of `schedule`.",
        max_runtime: "1h",
        catch_up: "0s",
        retries: "0",
    ));
    all.extend(job_keys!(
        "full-check", "FULL_CHECK",
        schedule: Some("0 4 1 * *"),
        interval: "Fixed interval between runs, in place of `schedule`.",
        max_runtime: "12h",
        catch_up: "0s",
        retries: "0",
    ));
    all.extend(TAIL_KEYS);
    all
});

const GENERAL_KEYS: [KeyInfo; 57] = [
    key(
        "timezone",
        &["INVGUARD_TIMEZONE"],
        "time zone",
        None,
        "IANA time zone for local times, retention buckets and schedules; defaults to the `TZ` variable, then the zone of /etc/localtime, then UTC.",
    ),
    key(
        "database.path",
        &["INVGUARD_DATABASE__PATH", "DATABASE_PATH"],
        "path",
        Some("/app/data/inventory.db"),
        "Absolute path of the live SQLite database.",
    ),
    key(
        "database.name",
        &["INVGUARD_DATABASE__NAME"],
        "string",
        Some("inventory"),
        "Prefix of backup file names; letters, digits, `_` and `-` only.",
    ),
    key(
        "backup.dir",
        &["INVGUARD_BACKUP__DIR", "BACKUP_PATH"],
        "path",
        Some("/app/backups"),
        "Absolute path of the directory that holds the backups.",
    ),
    key(
        "backup.temp_dir",
        &["INVGUARD_BACKUP__TEMP_DIR"],
        "path",
        None,
        "Directory for temporary plaintext files, created with mode 0700; defaults to `<backup.dir>/.invguard-tmp`.",
    ),
    key(
        "backup.compression_level",
        &["INVGUARD_BACKUP__COMPRESSION_LEVEL"],
        "integer",
        Some("3"),
        "zstd compression level, from 1 to 19; higher levels write smaller files more slowly (measured ratio and speed at levels 1, 3, 6 and 9: [benchmarks.md](benchmarks.md#compression-levels)).",
    ),
    key(
        "encryption.mode",
        &["INVGUARD_ENCRYPTION__MODE"],
        "choice",
        Some("passphrase"),
        "`passphrase` (symmetric OpenPGP), `public-key` (encrypted to `recipients`) or `none` (unencrypted backups, with a warning on every run).",
    ),
    secret(
        "encryption.passphrase",
        &["INVGUARD_ENCRYPTION__PASSPHRASE", "GPG_PASSPHRASE"],
        false,
        "Passphrase that encrypts new backups; accepted only from the environment, and `passphrase_file` is preferred.",
    ),
    key(
        "encryption.passphrase_file",
        &["INVGUARD_ENCRYPTION__PASSPHRASE_FILE", "GPG_PASSPHRASE_FILE"],
        "path",
        None,
        "File that contains the passphrase (one trailing newline is ignored); it should have mode 0600.",
    ),
    key(
        "encryption.passphrase_files",
        &["INVGUARD_ENCRYPTION__PASSPHRASE_FILES"],
        "path list",
        None,
        "Further passphrase files tried for decryption only, so backups made before a passphrase rotation stay restorable.",
    ),
    key(
        "encryption.recipients",
        &["INVGUARD_ENCRYPTION__RECIPIENTS"],
        "path list",
        None,
        "Public key files, or directories of them, that every backup is encrypted to: required in `public-key` mode, optional beside the passphrase in `passphrase` mode.",
    ),
    key(
        "encryption.secret_key_file",
        &["INVGUARD_ENCRYPTION__SECRET_KEY_FILE"],
        "path",
        None,
        "Secret key used for full verification and restore of `public-key` backups.",
    ),
    key(
        "encryption.secret_key_files",
        &["INVGUARD_ENCRYPTION__SECRET_KEY_FILES"],
        "path list",
        None,
        "Further secret key files tried for decryption only.",
    ),
    key(
        "encryption.secret_key_passphrase_file",
        &["INVGUARD_ENCRYPTION__SECRET_KEY_PASSPHRASE_FILE"],
        "path",
        None,
        "File with the passphrase that protects the secret keys, if they are protected.",
    ),
    key(
        "verify.level",
        &["INVGUARD_VERIFY__LEVEL"],
        "choice",
        Some("quick"),
        "Default verification: `quick` (decrypt, decompress, hash, `PRAGMA quick_check`) or `full` (also `PRAGMA integrity_check`).",
    ),
    key(
        "retention.keep_last",
        &["INVGUARD_RETENTION__KEEP_LAST"],
        "integer",
        None,
        "Keep the newest N backups.",
    ),
    key(
        "retention.keep_hourly",
        &["INVGUARD_RETENTION__KEEP_HOURLY"],
        "integer",
        None,
        "Keep the newest backup of each of the last N hours.",
    ),
    key(
        "retention.keep_daily",
        &["INVGUARD_RETENTION__KEEP_DAILY"],
        "integer",
        None,
        "Keep the newest backup of each of the last N days.",
    ),
    key(
        "retention.keep_weekly",
        &["INVGUARD_RETENTION__KEEP_WEEKLY"],
        "integer",
        None,
        "Keep the newest backup of each of the last N weeks.",
    ),
    key(
        "retention.keep_monthly",
        &["INVGUARD_RETENTION__KEEP_MONTHLY"],
        "integer",
        None,
        "Keep the newest backup of each of the last N months.",
    ),
    key(
        "retention.keep_yearly",
        &["INVGUARD_RETENTION__KEEP_YEARLY"],
        "integer",
        None,
        "Keep the newest backup of each of the last N years.",
    ),
    key(
        "retention.keep_within",
        &["INVGUARD_RETENTION__KEEP_WITHIN", "BACKUP_RETENTION_DAYS"],
        "duration",
        None,
        "Keep every backup younger than this, counted back from the newest good backup; `BACKUP_RETENTION_DAYS=N` sets N days.",
    ),
    key(
        "retention.min_keep",
        &["INVGUARD_RETENTION__MIN_KEEP"],
        "integer",
        Some("3"),
        "Minimum number of verified backups that are always kept.",
    ),
    key(
        "retention.include_legacy",
        &["INVGUARD_RETENTION__INCLUDE_LEGACY"],
        "boolean",
        Some("false"),
        "Whether backups of the original Python service are candidates for deletion: `*.gpg` files whose name starts with the database name and a separator and contains a date (other `*.gpg` files never are).",
    ),
    key(
        "api.url",
        &["INVGUARD_API__URL", "API_URL"],
        "url",
        Some("http://backend:5000/api"),
        "Base URL of the InvGuard backend API.",
    ),
    secret(
        "api.token",
        &["INVGUARD_API__TOKEN", "API_TOKEN"],
        false,
        "Static bearer token; accepted only from the environment, and `token_file` is preferred.",
    ),
    key(
        "api.token_file",
        &["INVGUARD_API__TOKEN_FILE", "API_TOKEN_FILE"],
        "path",
        None,
        "File that contains the bearer token.",
    ),
    key(
        "api.login.endpoint",
        &["INVGUARD_API__LOGIN__ENDPOINT"],
        "string",
        Some("/auth/login"),
        "Login path relative to the API URL.",
    ),
    key(
        "api.login.username",
        &["INVGUARD_API__LOGIN__USERNAME"],
        "string",
        None,
        "Username for the login; set together with `password_file`.",
    ),
    key(
        "api.login.password_file",
        &["INVGUARD_API__LOGIN__PASSWORD_FILE"],
        "path",
        None,
        "File that contains the login password.",
    ),
    key(
        "api.login.token_field",
        &["INVGUARD_API__LOGIN__TOKEN_FIELD"],
        "string",
        Some("access_token"),
        "JSON field of the login response that holds the token.",
    ),
    key(
        "api.connect_timeout",
        &["INVGUARD_API__CONNECT_TIMEOUT"],
        "duration",
        Some("5s"),
        "TCP connect timeout.",
    ),
    key(
        "api.read_timeout",
        &["INVGUARD_API__READ_TIMEOUT"],
        "duration",
        Some("10s"),
        "Timeout for the whole response.",
    ),
    key(
        "api.max_body_bytes",
        &["INVGUARD_API__MAX_BODY_BYTES"],
        "integer",
        Some("16777216"),
        "Maximum response body size in bytes (16 MiB).",
    ),
    key(
        "api.health_expect_field",
        &["INVGUARD_API__HEALTH_EXPECT_FIELD"],
        "string",
        None,
        "JSON field of the `/health` response that must equal `health_expect_value`.",
    ),
    key(
        "api.health_expect_value",
        &["INVGUARD_API__HEALTH_EXPECT_VALUE"],
        "string",
        None,
        "Expected value of `health_expect_field`.",
    ),
    key(
        "monitor.interval",
        &["INVGUARD_MONITOR__INTERVAL", "HEALTH_CHECK_INTERVAL"],
        "duration",
        Some("300s"),
        "Time between monitoring cycles; `HEALTH_CHECK_INTERVAL` gives it in seconds.",
    ),
    key(
        "monitor.api_response_time_ms",
        &["INVGUARD_MONITOR__API_RESPONSE_TIME_MS"],
        "integer",
        Some("5000"),
        "API response time in milliseconds above which the API check warns.",
    ),
    key(
        "monitor.low_stock_percentage",
        &["INVGUARD_MONITOR__LOW_STOCK_PERCENTAGE"],
        "number",
        Some("0.1"),
        "Share of low-stock items, from 0 to 1, above which the stock check warns.",
    ),
    key(
        "monitor.low_stock_max_items",
        &["INVGUARD_MONITOR__LOW_STOCK_MAX_ITEMS"],
        "integer",
        Some("50"),
        "Maximum number of low-stock items listed in a report.",
    ),
    key(
        "monitor.backup_failure_hours",
        &["INVGUARD_MONITOR__BACKUP_FAILURE_HOURS"],
        "number",
        Some("25"),
        "Age in hours of the newest verified backup above which the backup check is critical.",
    ),
    key(
        "monitor.disk_space_gb",
        &["INVGUARD_MONITOR__DISK_SPACE_GB"],
        "number",
        Some("1"),
        "Free space in GB below which the disk check warns.",
    ),
    key(
        "monitor.disk_usage_percentage",
        &["INVGUARD_MONITOR__DISK_USAGE_PERCENTAGE"],
        "number",
        Some("90"),
        "Used percentage, from 0 to 100, above which the disk check warns.",
    ),
    key(
        "monitor.wal_warning_bytes",
        &["INVGUARD_MONITOR__WAL_WARNING_BYTES"],
        "integer",
        Some("1073741824"),
        "Size in bytes of the database's `-wal` file above which the database check warns (1 GiB).",
    ),
    key(
        "monitor.failure_threshold",
        &["INVGUARD_MONITOR__FAILURE_THRESHOLD"],
        "integer",
        Some("2"),
        "Consecutive failed checks before an alert fires.",
    ),
    key(
        "monitor.success_threshold",
        &["INVGUARD_MONITOR__SUCCESS_THRESHOLD"],
        "integer",
        Some("1"),
        "Consecutive passed checks before an alert resolves.",
    ),
    key(
        "monitor.reminder_interval",
        &["INVGUARD_MONITOR__REMINDER_INTERVAL"],
        "duration",
        Some("6h"),
        "Interval of reminders while an alert keeps firing.",
    ),
    key(
        "monitor.notifiers[].type",
        &[],
        "choice",
        None,
        "Kind of notifier: `webhook`, `slack`, `discord`, `teams`, `ntfy` or `command`. Notifiers are configured in the file only.",
    ),
    secret(
        "monitor.notifiers[].url",
        &[],
        true,
        "Target URL of a webhook, slack, discord, teams or ntfy notifier; a secret because webhook URLs carry their token.",
    ),
    key(
        "monitor.notifiers[].url_file",
        &[],
        "path",
        None,
        "File that contains the target URL, in place of `url`.",
    ),
    secret("monitor.notifiers[].token", &[], true, "Access token of an ntfy notifier."),
    key(
        "monitor.notifiers[].token_file",
        &[],
        "path",
        None,
        "File that contains the ntfy access token, in place of `token`.",
    ),
    key(
        "monitor.notifiers[].program",
        &[],
        "path",
        None,
        "Program of a command notifier, run without a shell with the alert as JSON on stdin.",
    ),
    key("monitor.notifiers[].args", &[], "string list", None, "Arguments of a command notifier."),
    key(
        "log.level",
        &["INVGUARD_LOG__LEVEL", "LOG_LEVEL"],
        "choice",
        Some("INFO"),
        "`DEBUG`, `INFO`, `WARNING` (or `WARN`), `ERROR` or `CRITICAL`, in any case.",
    ),
    key(
        "log.format",
        &["INVGUARD_LOG__FORMAT"],
        "choice",
        Some("text"),
        "`text` (human-readable lines) or `json` (one JSON object per line).",
    ),
    key(
        "state.dir",
        &["INVGUARD_STATE__DIR"],
        "path",
        None,
        "Directory for daemon state, heartbeat and alert state; defaults to `<backup.dir>/.invguard-state`.",
    ),
];

const TAIL_KEYS: [KeyInfo; 1] = [key(
    "daemon.grace_period",
    &["INVGUARD_DAEMON__GRACE_PERIOD"],
    "duration",
    Some("8s"),
    "Time a running job gets to finish after SIGTERM before it is cancelled.",
)];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique() {
        let mut names: Vec<&str> = keys().iter().map(|info| info.key).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before);
    }

    #[test]
    fn keys_invguard_variable_matches_key() {
        for info in keys().iter().filter(|info| !info.env.is_empty()) {
            let expected = format!(
                "INVGUARD_{}",
                info.key.replace('.', "__").replace('-', "_").to_uppercase()
            );
            assert_eq!(info.env[0], expected, "key {}", info.key);
        }
    }

    #[test]
    fn keys_without_variables_are_notifier_fields() {
        for info in keys().iter().filter(|info| info.env.is_empty()) {
            assert!(info.key.starts_with("monitor.notifiers[]."), "key {}", info.key);
        }
    }

    #[test]
    fn is_table_sections_and_leaves() {
        assert!(is_table("retention"));
        assert!(is_table("jobs.full-check"));
        assert!(is_table("api.login"));
        assert!(!is_table("retention.keep_last"));
        assert!(!is_table("retent"));
    }

    #[test]
    fn nearest_key_suggests_close_key() {
        assert_eq!(nearest_key("retention.keep_lats").as_deref(), Some("retention.keep_last"));
        assert_eq!(nearest_key("retension").as_deref(), Some("retention"));
        assert_eq!(nearest_key("jobs.backup.schedul").as_deref(), Some("jobs.backup.schedule"));
        let notifier = nearest_key("monitor.notifiers[].urls");
        assert_eq!(notifier.as_deref(), Some("monitor.notifiers[].url"));
    }

    #[test]
    fn nearest_key_rejects_distant_key() {
        assert_eq!(nearest_key("backup.colour"), None);
        assert_eq!(nearest_key("zzzz"), None);
    }

    #[test]
    fn children_lists_direct_names() {
        assert_eq!(children("api.login"), ["endpoint", "password_file", "token_field", "username"]);
        assert!(children("").contains(&"timezone"));
        assert!(children("").contains(&"jobs"));
        assert!(children("jobs").contains(&"full-check"));
    }
}
