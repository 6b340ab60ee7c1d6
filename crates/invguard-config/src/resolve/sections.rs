//! One method per configuration section, each checking its keys and filling computed defaults.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use config::{Map, Value, ValueKind};

use super::{Resolver, text};
use crate::load::Origin;
use crate::registry::{JOB_NAMES, NOTIFIERS_KEY};
use crate::{
    ApiConfig, BackupConfig, ConfigError, DatabaseConfig, EncryptionConfig, EncryptionMode,
    JobConfig, JobSchedule, JobsConfig, LogConfig, LogFormat, LogLevel, LoginConfig, MonitorConfig,
    NotifierConfig, RetentionConfig, Secret, StateConfig, VerifyConfig, VerifyLevel,
};

const LOG_LEVEL_FORM: &str =
    "one of DEBUG, INFO, WARNING (or WARN), ERROR or CRITICAL, in any case";

impl Resolver<'_> {
    /// Resolves the time zone: the `timezone` key, else `TZ`, else the zone of /etc/localtime,
    /// else UTC.
    pub(super) fn timezone(&mut self) -> Result<Tz, ConfigError> {
        if let Some(tz) = self.timezone_value("timezone")? {
            return Ok(tz);
        }

        if let Some(written) = self.env.get("TZ").filter(|written| !written.is_empty()) {
            let name = written.strip_prefix(':').unwrap_or(written);
            if let Ok(tz) = name.parse::<Tz>() {
                self.origins.insert("timezone", Origin::Env("TZ".to_owned()));
                return Ok(tz);
            }
            self.warnings.push(format!(
                "TZ={written:?} is not an IANA time zone name: using the system time zone"
            ));
        }

        let system = iana_time_zone::get_timezone().ok().and_then(|name| name.parse::<Tz>().ok());
        Ok(system.unwrap_or(Tz::UTC))
    }

    pub(super) fn database(&self) -> Result<DatabaseConfig, ConfigError> {
        let path = self.path("database.path")?;
        let name =
            self.parse("database.name", "letters, digits, \"_\" and \"-\" only", |kind| {
                text(kind).filter(|name| is_file_name_prefix(name)).map(str::to_owned)
            })?;

        Ok(DatabaseConfig {
            path: self.required("database.path", path)?,
            name: self.required("database.name", name)?,
        })
    }

    pub(super) fn backup(&self) -> Result<BackupConfig, ConfigError> {
        let dir = self.required("backup.dir", self.path("backup.dir")?)?;
        let temp_dir = self.path("backup.temp_dir")?.unwrap_or_else(|| dir.join(".invguard-tmp"));
        let level = self.integer("backup.compression_level", 1..=19)?;

        Ok(BackupConfig {
            dir,
            temp_dir,
            compression_level: self.required("backup.compression_level", level)?,
        })
    }

    pub(super) fn encryption(&mut self) -> Result<EncryptionConfig, ConfigError> {
        let mode = self.choice(
            "encryption.mode",
            &[
                ("passphrase", EncryptionMode::Passphrase),
                ("public-key", EncryptionMode::PublicKey),
                ("none", EncryptionMode::None),
            ],
        )?;
        let mode = self.required("encryption.mode", mode)?;

        self.reject_carriage_returns()?;
        let passphrase =
            self.secret_or_file("encryption.passphrase", "encryption.passphrase_file")?;
        if passphrase.as_ref().is_some_and(|secret| secret.expose().contains('\r')) {
            let key = self.describe("encryption.passphrase");
            return Err(ConfigError::CarriageReturnInPassphrase { key });
        }
        if mode == EncryptionMode::None && passphrase.is_some() {
            self.warnings.push(
                "encryption.mode is \"none\": backups are not encrypted and the configured \
                 passphrase is not used"
                    .to_owned(),
            );
        }

        let encryption = EncryptionConfig {
            mode,
            passphrase,
            passphrase_file: self.path("encryption.passphrase_file")?,
            passphrase_files: self.paths("encryption.passphrase_files")?,
            recipients: self.paths("encryption.recipients")?,
            secret_key_file: self.path("encryption.secret_key_file")?,
            secret_key_files: self.paths("encryption.secret_key_files")?,
            secret_key_passphrase_file: self.path("encryption.secret_key_passphrase_file")?,
        };

        // The passphrase file was checked when it was read; these are read later, by the
        // commands that decrypt.
        let unread_secret_files = [
            ("encryption.passphrase_files", &encryption.passphrase_files),
            ("encryption.secret_key_files", &encryption.secret_key_files),
        ]
        .into_iter()
        .flat_map(|(key, paths)| paths.iter().map(move |path| (key, path)))
        .chain(encryption.secret_key_file.iter().map(|path| ("encryption.secret_key_file", path)))
        .chain(
            encryption
                .secret_key_passphrase_file
                .iter()
                .map(|path| ("encryption.secret_key_passphrase_file", path)),
        );
        for (key, path) in unread_secret_files {
            self.warnings.extend(crate::secret::loose_permissions_warning(key, path));
        }
        Ok(encryption)
    }

    /// Refuses passphrase files with a carriage return, including those read only by the
    /// commands that decrypt, so that a wrong line ending shows at load.
    fn reject_carriage_returns(&self) -> Result<(), ConfigError> {
        let single = ["encryption.passphrase_file", "encryption.secret_key_passphrase_file"];
        for key in single {
            if let Some(path) = self.path(key)? {
                crate::secret::reject_carriage_return(key, &path)?;
            }
        }
        for path in self.paths("encryption.passphrase_files")? {
            crate::secret::reject_carriage_return("encryption.passphrase_files", &path)?;
        }
        Ok(())
    }

    pub(super) fn verify(&self) -> Result<VerifyConfig, ConfigError> {
        let choices = [("quick", VerifyLevel::Quick), ("full", VerifyLevel::Full)];
        let level = self.choice("verify.level", &choices)?;
        Ok(VerifyConfig { level: self.required("verify.level", level)? })
    }

    pub(super) fn retention(&self) -> Result<RetentionConfig, ConfigError> {
        let count = |key| self.integer::<u32>(key, 0..=i64::from(u32::MAX));
        let min_keep = count("retention.min_keep")?;
        let include_legacy = self.boolean("retention.include_legacy")?;

        Ok(RetentionConfig {
            keep_last: count("retention.keep_last")?,
            keep_hourly: count("retention.keep_hourly")?,
            keep_daily: count("retention.keep_daily")?,
            keep_weekly: count("retention.keep_weekly")?,
            keep_monthly: count("retention.keep_monthly")?,
            keep_yearly: count("retention.keep_yearly")?,
            keep_within: self.duration("retention.keep_within")?,
            min_keep: self.required("retention.min_keep", min_keep)?,
            include_legacy: self.required("retention.include_legacy", include_legacy)?,
        })
    }

    pub(super) fn api(&mut self) -> Result<ApiConfig, ConfigError> {
        let url = self.parse("api.url", "an http:// or https:// URL", |kind| {
            text(kind).filter(|url| is_http_url(url)).map(str::to_owned)
        })?;
        let token = self.secret_or_file("api.token", "api.token_file")?;
        let login = self.login()?;
        self.require_both("api.health_expect_field", "api.health_expect_value")?;

        let connect_timeout = self.positive_duration("api.connect_timeout")?;
        let read_timeout = self.positive_duration("api.read_timeout")?;
        let max_body_bytes = self.integer("api.max_body_bytes", 1..=i64::MAX)?;

        Ok(ApiConfig {
            url: self.required("api.url", url)?,
            token,
            login,
            connect_timeout: self.required("api.connect_timeout", connect_timeout)?,
            read_timeout: self.required("api.read_timeout", read_timeout)?,
            max_body_bytes: self.required("api.max_body_bytes", max_body_bytes)?,
            health_expect_field: self.string("api.health_expect_field")?,
            health_expect_value: self.string("api.health_expect_value")?,
        })
    }

    fn login(&mut self) -> Result<Option<LoginConfig>, ConfigError> {
        self.require_both("api.login.username", "api.login.password_file")?;
        let (Some(username), Some(password_file)) =
            (self.string("api.login.username")?, self.path("api.login.password_file")?)
        else {
            return Ok(None);
        };

        let password = self.read_secret("api.login.password_file", &password_file)?;
        let endpoint = self.string("api.login.endpoint")?;
        let token_field = self.string("api.login.token_field")?;
        Ok(Some(LoginConfig {
            endpoint: self.required("api.login.endpoint", endpoint)?,
            username,
            password,
            token_field: self.required("api.login.token_field", token_field)?,
        }))
    }

    /// Rejects a pair of keys of which only one is set.
    fn require_both(&self, first: &str, second: &str) -> Result<(), ConfigError> {
        match (self.is_set(first), self.is_set(second)) {
            (true, false) => Err(ConfigError::Incomplete {
                set: self.describe(first),
                missing: second.to_owned(),
            }),
            (false, true) => Err(ConfigError::Incomplete {
                set: self.describe(second),
                missing: first.to_owned(),
            }),
            _ => Ok(()),
        }
    }

    pub(super) fn monitor(&mut self) -> Result<MonitorConfig, ConfigError> {
        let interval = self.positive_duration("monitor.interval")?;
        let response_time = self.integer("monitor.api_response_time_ms", 1..=i64::MAX)?;
        let low_stock = self.number("monitor.low_stock_percentage", 0.0..=1.0)?;
        let max_items = self.integer("monitor.low_stock_max_items", 0..=i64::MAX)?;
        let failure_hours = self.number("monitor.backup_failure_hours", 0.0..=f64::MAX)?;
        let disk_space = self.number("monitor.disk_space_gb", 0.0..=f64::MAX)?;
        let disk_usage = self.number("monitor.disk_usage_percentage", 0.0..=100.0)?;
        let wal = self.integer("monitor.wal_warning_bytes", 0..=i64::MAX)?;
        let failures = self.integer("monitor.failure_threshold", 1..=i64::from(u32::MAX))?;
        let successes = self.integer("monitor.success_threshold", 1..=i64::from(u32::MAX))?;
        let reminder = self.duration("monitor.reminder_interval")?;

        Ok(MonitorConfig {
            interval: self.required("monitor.interval", interval)?,
            api_response_time_ms: self.required("monitor.api_response_time_ms", response_time)?,
            low_stock_percentage: self.required("monitor.low_stock_percentage", low_stock)?,
            low_stock_max_items: self.required("monitor.low_stock_max_items", max_items)?,
            backup_failure_hours: self.required("monitor.backup_failure_hours", failure_hours)?,
            disk_space_gb: self.required("monitor.disk_space_gb", disk_space)?,
            disk_usage_percentage: self.required("monitor.disk_usage_percentage", disk_usage)?,
            wal_warning_bytes: self.required("monitor.wal_warning_bytes", wal)?,
            failure_threshold: self.required("monitor.failure_threshold", failures)?,
            success_threshold: self.required("monitor.success_threshold", successes)?,
            reminder_interval: self.required("monitor.reminder_interval", reminder)?,
            notifiers: self.notifiers()?,
        })
    }

    fn notifiers(&mut self) -> Result<Vec<NotifierConfig>, ConfigError> {
        let Some(value) = self.values.get(NOTIFIERS_KEY) else { return Ok(Vec::new()) };
        let ValueKind::Array(entries) = value.kind.clone() else {
            return Err(self.invalid(NOTIFIERS_KEY, value, "an array of tables"));
        };
        let origin = self.origin(NOTIFIERS_KEY).clone();

        let mut notifiers = Vec::new();
        for (index, entry) in entries.into_iter().enumerate() {
            let ValueKind::Table(fields) = entry.kind else { continue };
            let mut entry = NotifierEntry { index, fields, origin: origin.clone(), resolver: self };
            notifiers.push(entry.resolve()?);
        }
        Ok(notifiers)
    }

    pub(super) fn jobs(&mut self, monitor_interval: Duration) -> Result<JobsConfig, ConfigError> {
        let mut jobs = BTreeMap::new();
        for name in JOB_NAMES {
            jobs.insert(name.to_owned(), self.job(name, monitor_interval)?);
        }

        let grace_period = self.duration("daemon.grace_period")?;
        Ok(JobsConfig { jobs, grace_period: self.required("daemon.grace_period", grace_period)? })
    }

    fn job(&mut self, name: &str, monitor_interval: Duration) -> Result<JobConfig, ConfigError> {
        let key = |field: &str| format!("jobs.{name}.{field}");

        let schedule = self.job_schedule(name, monitor_interval)?;
        let enabled = self.boolean(&key("enabled"))?;
        let max_runtime = self.positive_duration(&key("max_runtime"))?;
        let catch_up = self.duration(&key("catch_up"))?;
        let retries = self.integer(&key("retries"), 0..=i64::from(u32::MAX))?;
        let retry_backoff = self.duration(&key("retry_backoff"))?;

        Ok(JobConfig {
            enabled: self.required(&key("enabled"), enabled)?,
            schedule,
            timezone: self.timezone_value(&key("timezone"))?,
            max_runtime: self.required(&key("max_runtime"), max_runtime)?,
            catch_up: self.required(&key("catch_up"), catch_up)?,
            retries: self.required(&key("retries"), retries)?,
            retry_backoff: self.required(&key("retry_backoff"), retry_backoff)?,
            ping_url: self.secret_or_file(&key("ping_url"), &key("ping_url_file"))?,
        })
    }

    /// Returns the operator's `schedule` or `interval`, else the job's default schedule. The
    /// health job's default interval is `monitor.interval`.
    fn job_schedule(
        &mut self,
        name: &str,
        monitor_interval: Duration,
    ) -> Result<JobSchedule, ConfigError> {
        let schedule_key = format!("jobs.{name}.schedule");
        let interval_key = format!("jobs.{name}.interval");
        if self.is_set(&schedule_key) && self.is_set(&interval_key) {
            return Err(ConfigError::Conflict {
                first: self.describe(&schedule_key),
                second: self.describe(&interval_key),
            });
        }

        if let Some(interval) = self.positive_duration(&interval_key)? {
            return Ok(JobSchedule::Interval(interval));
        }
        let cron =
            self.parse(&schedule_key, "a cron expression", |kind| text(kind).map(str::to_owned))?;
        if let Some(cron) = cron {
            return self.check_cron(&schedule_key, cron);
        }

        let origin = self.origin("monitor.interval").clone();
        self.origins.insert(&interval_key, origin);
        Ok(JobSchedule::Interval(monitor_interval))
    }

    fn check_cron(&self, key: &str, expression: String) -> Result<JobSchedule, ConfigError> {
        if let Err(reason) = crate::cron::check(&expression) {
            let expected = format!(
                "a cron expression such as \"0 2 * * *\" (minute hour day-of-month month \
                 day-of-week, an optional leading seconds field, or a macro such as @daily), \
                 but {reason}"
            );
            return Err(self.invalid(key, &Value::new(None, expression), expected));
        }
        Ok(JobSchedule::Cron(expression))
    }

    pub(super) fn state(&self, backup_dir: &Path) -> Result<StateConfig, ConfigError> {
        let dir = self.path("state.dir")?.unwrap_or_else(|| backup_dir.join(".invguard-state"));
        Ok(StateConfig { dir })
    }

    pub(super) fn log(&self) -> Result<LogConfig, ConfigError> {
        let level =
            self.parse("log.level", LOG_LEVEL_FORM, |kind| text(kind).and_then(log_level))?;
        let format =
            self.choice("log.format", &[("text", LogFormat::Text), ("json", LogFormat::Json)])?;
        Ok(LogConfig {
            level: self.required("log.level", level)?,
            format: self.required("log.format", format)?,
        })
    }
}

/// One `[[monitor.notifiers]]` entry on its way to a [`NotifierConfig`].
struct NotifierEntry<'r, 'a> {
    index: usize,
    fields: Map<String, Value>,
    origin: Origin,
    resolver: &'r mut Resolver<'a>,
}

impl NotifierEntry<'_, '_> {
    fn key(&self, field: &str) -> String {
        format!("{NOTIFIERS_KEY}[{}].{field}", self.index)
    }

    fn invalid(&self, field: &str, value: &str, expected: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            key: self.key(field),
            value: value.to_owned(),
            origin: self.origin.to_string(),
            expected: expected.into(),
        }
    }

    fn text(&self, field: &str) -> Result<Option<String>, ConfigError> {
        let Some(value) = self.fields.get(field) else { return Ok(None) };
        match &value.kind {
            ValueKind::String(text) => Ok(Some(text.clone())),
            _ => {
                let displayed = if matches!(field, "url" | "token") {
                    "<redacted>".to_owned()
                } else {
                    super::display(value)
                };
                Err(self.invalid(field, &displayed, "a string"))
            }
        }
    }

    fn path(&self, field: &str) -> Result<Option<PathBuf>, ConfigError> {
        let Some(written) = self.text(field)? else { return Ok(None) };
        match super::absolute_path(&written) {
            Some(path) => Ok(Some(path)),
            None => Err(self.invalid(field, &written, "an absolute path")),
        }
    }

    /// Returns a secret given inline by `field` or in the file named by `<field>_file`.
    fn secret(&mut self, field: &str) -> Result<Option<Secret>, ConfigError> {
        let file_field = format!("{field}_file");
        let inline = self.text(field)?;
        let file = self.path(&file_field)?;
        match (inline, file) {
            (Some(_), Some(_)) => Err(ConfigError::Conflict {
                first: format!("{} (from {})", self.key(field), self.origin),
                second: format!("{} (from {})", self.key(&file_field), self.origin),
            }),
            (Some(inline), None) => Ok(Some(Secret::new(inline))),
            (None, Some(path)) => {
                self.resolver.read_secret(&self.key(&file_field), &path).map(Some)
            }
            (None, None) => Ok(None),
        }
    }

    fn required_secret(&mut self, field: &str) -> Result<Secret, ConfigError> {
        self.secret(field)?.ok_or_else(|| ConfigError::Incomplete {
            set: format!("{} (from {})", self.key("type"), self.origin),
            missing: format!("{} or {}_file", self.key(field), field),
        })
    }

    /// Rejects fields that do not apply to the notifier's type.
    fn reject_fields(&self, kind: &str, allowed: &[&str]) -> Result<(), ConfigError> {
        let mut names: Vec<&String> = self.fields.keys().collect();
        names.sort();
        for name in names {
            if name != "type" && !allowed.contains(&name.as_str()) {
                return Err(ConfigError::NotApplicable {
                    key: self.key(name),
                    origin: self.origin.to_string(),
                    kind: kind.to_owned(),
                    allowed: allowed.join(", "),
                });
            }
        }
        Ok(())
    }

    fn resolve(&mut self) -> Result<NotifierConfig, ConfigError> {
        const URL_FIELDS: [&str; 2] = ["url", "url_file"];
        let kinds = "one of \"webhook\", \"slack\", \"discord\", \"teams\", \"ntfy\", \"command\"";
        let Some(kind) = self.text("type")? else {
            return Err(ConfigError::Incomplete {
                set: format!("{NOTIFIERS_KEY}[{}] (from {})", self.index, self.origin),
                missing: self.key("type"),
            });
        };

        let notifier = match kind.as_str() {
            "webhook" | "slack" | "discord" | "teams" => {
                self.reject_fields(&kind, &URL_FIELDS)?;
                let url = self.required_secret("url")?;
                match kind.as_str() {
                    "webhook" => NotifierConfig::Webhook { url },
                    "slack" => NotifierConfig::Slack { url },
                    "discord" => NotifierConfig::Discord { url },
                    _ => NotifierConfig::Teams { url },
                }
            }
            "ntfy" => {
                self.reject_fields(&kind, &["url", "url_file", "token", "token_file"])?;
                NotifierConfig::Ntfy {
                    url: self.required_secret("url")?,
                    token: self.secret("token")?,
                }
            }
            "command" => {
                self.reject_fields(&kind, &["program", "args"])?;
                self.command()?
            }
            other => return Err(self.invalid("type", other, kinds)),
        };
        Ok(notifier)
    }

    fn command(&self) -> Result<NotifierConfig, ConfigError> {
        let program = self.path("program")?.ok_or_else(|| ConfigError::Incomplete {
            set: format!("{} (from {})", self.key("type"), self.origin),
            missing: self.key("program"),
        })?;

        let args = match self.fields.get("args").map(|value| &value.kind) {
            None => Vec::new(),
            Some(ValueKind::Array(items)) => items
                .iter()
                .map(|item| text(&item.kind).map(str::to_owned))
                .collect::<Option<Vec<String>>>()
                .ok_or_else(|| self.invalid("args", "a list", "a list of strings"))?,
            Some(_) => return Err(self.invalid("args", "not a list", "a list of strings")),
        };
        Ok(NotifierConfig::Command { program, args })
    }
}

/// Parses `LOG_LEVEL` the way the original service did, in any case.
fn log_level(written: &str) -> Option<LogLevel> {
    match written.trim().to_ascii_uppercase().as_str() {
        "DEBUG" => Some(LogLevel::Debug),
        "INFO" => Some(LogLevel::Info),
        "WARN" | "WARNING" => Some(LogLevel::Warning),
        "ERROR" => Some(LogLevel::Error),
        "CRITICAL" => Some(LogLevel::Critical),
        _ => None,
    }
}

fn is_file_name_prefix(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn is_http_url(url: &str) -> bool {
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
    rest.is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_level_accepts_names_in_any_case() {
        assert_eq!(log_level("debug"), Some(LogLevel::Debug));
        assert_eq!(log_level("Info"), Some(LogLevel::Info));
        assert_eq!(log_level("WARN"), Some(LogLevel::Warning));
        assert_eq!(log_level("warning"), Some(LogLevel::Warning));
        assert_eq!(log_level("ERROR"), Some(LogLevel::Error));
        assert_eq!(log_level("critical"), Some(LogLevel::Critical));
        assert_eq!(log_level("trace"), None);
    }

    #[test]
    fn is_file_name_prefix_rejects_separators() {
        assert!(is_file_name_prefix("inventory_2-b"));
        assert!(!is_file_name_prefix("../x"));
        assert!(!is_file_name_prefix("a b"));
        assert!(!is_file_name_prefix(""));
    }

    #[test]
    fn is_http_url_requires_scheme_and_host() {
        assert!(is_http_url("http://backend:5000/api"));
        assert!(is_http_url("https://example.invalid"));
        assert!(!is_http_url("backend:5000"));
        assert!(!is_http_url("http://"));
        assert!(!is_http_url("ftp://host"));
    }
}
