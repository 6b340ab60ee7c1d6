//! The effective configuration as TOML, secrets redacted, each value with its origin.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use toml::Value;

use crate::load::{Loaded, Origins};
use crate::registry::JOB_NAMES;
use crate::{
    EncryptionMode, JobConfig, JobSchedule, LogFormat, LogLevel, NotifierConfig, Secret,
    VerifyLevel,
};

const REDACTED: &str = "<redacted>";

impl Loaded {
    /// Renders the effective configuration as TOML that can be loaded again.
    ///
    /// Each value is followed by a comment saying where it came from: `default`, `file PATH` or
    /// the environment variable that set it. Secrets appear as `"<redacted>"`, and keys without a
    /// value appear as comments.
    pub fn render_toml(&self) -> String {
        let mut out = Renderer { out: String::new(), loaded: self };

        out.comment("Effective configuration of InvGuard Cron. The comment after each value says");
        out.comment("where it came from: `default`, `file PATH` or an environment variable.");
        out.render_all();
        out.out
    }
}

struct Renderer<'a> {
    out: String,
    loaded: &'a Loaded,
}

impl Renderer<'_> {
    fn origins(&self) -> &Origins {
        &self.loaded.origins
    }

    fn comment(&mut self, text: &str) {
        let _ = writeln!(self.out, "# {text}");
    }

    fn table(&mut self, header: &str) {
        let _ = writeln!(self.out, "\n{header}");
    }

    /// Writes `field = value  # origin of key`.
    fn value(&mut self, key: &str, value: Value) {
        let field = key.rsplit('.').next().unwrap_or(key);
        let origin = self.origins().get(key).to_string();
        let _ = writeln!(self.out, "{field} = {value}  # {origin}");
    }

    fn optional(&mut self, key: &str, value: Option<Value>) {
        match value {
            Some(value) => self.value(key, value),
            None => {
                let field = key.rsplit('.').next().unwrap_or(key);
                let _ = writeln!(self.out, "# {field}: not set");
            }
        }
    }

    /// Writes the file a secret was read from, else the redacted inline secret.
    fn secret(&mut self, key: &str, file_key: &str, secret: Option<&Secret>) {
        if let Some(path) = self.loaded.secret_files.get(file_key) {
            self.value(file_key, path_value(path));
        } else {
            self.optional(key, secret.map(|_| string(REDACTED)));
        }
    }

    fn render_all(&mut self) {
        let config = &self.loaded.config;
        self.value("timezone", string(config.timezone.name()));

        self.table("[database]");
        self.value("database.path", path_value(&config.database.path));
        self.value("database.name", string(&config.database.name));

        self.table("[backup]");
        self.value("backup.dir", path_value(&config.backup.dir));
        self.value("backup.temp_dir", path_value(&config.backup.temp_dir));
        self.value(
            "backup.compression_level",
            Value::Integer(config.backup.compression_level.into()),
        );

        self.encryption();

        self.table("[verify]");
        let level = match config.verify.level {
            VerifyLevel::Quick => "quick",
            VerifyLevel::Full => "full",
        };
        self.value("verify.level", string(level));

        self.retention();
        self.api();
        self.monitor();
        for name in JOB_NAMES {
            if let Some(job) = config.jobs.jobs.get(name) {
                self.job(name, job);
            }
        }

        self.table("[daemon]");
        self.value("daemon.grace_period", duration(config.jobs.grace_period));
        self.table("[state]");
        self.value("state.dir", path_value(&config.state.dir));
        self.log();
    }

    fn encryption(&mut self) {
        let encryption = &self.loaded.config.encryption;
        self.table("[encryption]");
        let mode = match encryption.mode {
            EncryptionMode::Passphrase => "passphrase",
            EncryptionMode::PublicKey => "public-key",
            EncryptionMode::None => "none",
        };
        self.value("encryption.mode", string(mode));
        self.secret(
            "encryption.passphrase",
            "encryption.passphrase_file",
            encryption.passphrase.as_ref(),
        );
        self.optional("encryption.passphrase_files", paths_value(&encryption.passphrase_files));
        self.optional("encryption.recipients", paths_value(&encryption.recipients));
        self.optional(
            "encryption.secret_key_file",
            encryption.secret_key_file.as_deref().map(path_value),
        );
        self.optional("encryption.secret_key_files", paths_value(&encryption.secret_key_files));
        self.optional(
            "encryption.secret_key_passphrase_file",
            encryption.secret_key_passphrase_file.as_deref().map(path_value),
        );
    }

    fn retention(&mut self) {
        let retention = &self.loaded.config.retention;
        self.table("[retention]");
        let count = |count: Option<u32>| count.map(|count| Value::Integer(count.into()));
        self.optional("retention.keep_last", count(retention.keep_last));
        self.optional("retention.keep_hourly", count(retention.keep_hourly));
        self.optional("retention.keep_daily", count(retention.keep_daily));
        self.optional("retention.keep_weekly", count(retention.keep_weekly));
        self.optional("retention.keep_monthly", count(retention.keep_monthly));
        self.optional("retention.keep_yearly", count(retention.keep_yearly));
        self.optional("retention.keep_within", retention.keep_within.map(duration));
        self.value("retention.min_keep", Value::Integer(retention.min_keep.into()));
        self.value("retention.include_legacy", Value::Boolean(retention.include_legacy));
    }

    fn api(&mut self) {
        let api = &self.loaded.config.api;
        self.table("[api]");
        self.value("api.url", string(&api.url));
        self.secret("api.token", "api.token_file", api.token.as_ref());
        self.value("api.connect_timeout", duration(api.connect_timeout));
        self.value("api.read_timeout", duration(api.read_timeout));
        self.value("api.max_body_bytes", integer(api.max_body_bytes));
        self.optional("api.health_expect_field", api.health_expect_field.as_deref().map(string));
        self.optional("api.health_expect_value", api.health_expect_value.as_deref().map(string));

        self.table("[api.login]");
        match &api.login {
            Some(login) => {
                self.value("api.login.endpoint", string(&login.endpoint));
                self.value("api.login.username", string(&login.username));
                self.secret("api.login.password", "api.login.password_file", Some(&login.password));
                self.value("api.login.token_field", string(&login.token_field));
            }
            None => self.comment("not used: username and password_file are not set"),
        }
    }

    fn monitor(&mut self) {
        let monitor = &self.loaded.config.monitor;
        self.table("[monitor]");
        self.value("monitor.interval", duration(monitor.interval));
        self.value("monitor.api_response_time_ms", integer(monitor.api_response_time_ms));
        self.value("monitor.low_stock_percentage", Value::Float(monitor.low_stock_percentage));
        self.value("monitor.low_stock_max_items", integer(monitor.low_stock_max_items as u64));
        self.value("monitor.backup_failure_hours", Value::Float(monitor.backup_failure_hours));
        self.value("monitor.disk_space_gb", Value::Float(monitor.disk_space_gb));
        self.value("monitor.disk_usage_percentage", Value::Float(monitor.disk_usage_percentage));
        self.value("monitor.wal_warning_bytes", integer(monitor.wal_warning_bytes));
        self.value("monitor.failure_threshold", Value::Integer(monitor.failure_threshold.into()));
        self.value("monitor.success_threshold", Value::Integer(monitor.success_threshold.into()));
        self.value("monitor.reminder_interval", duration(monitor.reminder_interval));

        for (index, notifier) in monitor.notifiers.iter().enumerate() {
            self.notifier(index, notifier);
        }
    }

    fn notifier(&mut self, index: usize, notifier: &NotifierConfig) {
        let key = |field: &str| format!("monitor.notifiers[{index}].{field}");
        let origin = self.origins().get("monitor.notifiers").to_string();
        self.table("[[monitor.notifiers]]");

        let (kind, url, token) = match notifier {
            NotifierConfig::Webhook { url } => ("webhook", Some(url), None),
            NotifierConfig::Slack { url } => ("slack", Some(url), None),
            NotifierConfig::Discord { url } => ("discord", Some(url), None),
            NotifierConfig::Teams { url } => ("teams", Some(url), None),
            NotifierConfig::Ntfy { url, token } => ("ntfy", Some(url), token.as_ref()),
            NotifierConfig::Command { program, args } => {
                let _ = writeln!(self.out, "type = \"command\"  # {origin}");
                let _ = writeln!(self.out, "program = {}  # {origin}", path_value(program));
                let args = Value::Array(args.iter().map(|arg| string(arg)).collect());
                let _ = writeln!(self.out, "args = {args}  # {origin}");
                return;
            }
        };

        let _ = writeln!(self.out, "type = {}  # {origin}", string(kind));
        for (field, secret) in [("url", url), ("token", token)] {
            if let Some(path) = self.loaded.secret_files.get(&key(&format!("{field}_file"))) {
                let _ = writeln!(self.out, "{field}_file = {}  # {origin}", path_value(path));
            } else if secret.is_some() {
                let _ = writeln!(self.out, "{field} = {}  # {origin}", string(REDACTED));
            }
        }
    }

    fn job(&mut self, name: &str, job: &JobConfig) {
        let key = |field: &str| format!("jobs.{name}.{field}");
        self.table(&format!("[jobs.{name}]"));
        self.value(&key("enabled"), Value::Boolean(job.enabled));
        match &job.schedule {
            JobSchedule::Cron(expression) => self.value(&key("schedule"), string(expression)),
            JobSchedule::Interval(interval) => self.value(&key("interval"), duration(*interval)),
        }
        self.optional(&key("timezone"), job.timezone.map(|tz| string(tz.name())));
        self.value(&key("max_runtime"), duration(job.max_runtime));
        self.value(&key("catch_up"), duration(job.catch_up));
        self.value(&key("retries"), Value::Integer(job.retries.into()));
        self.value(&key("retry_backoff"), duration(job.retry_backoff));
        self.secret(&key("ping_url"), &key("ping_url_file"), job.ping_url.as_ref());
    }

    fn log(&mut self) {
        let log = &self.loaded.config.log;
        self.table("[log]");
        let level = match log.level {
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warning => "WARNING",
            LogLevel::Error => "ERROR",
            LogLevel::Critical => "CRITICAL",
        };
        self.value("log.level", string(level));
        let format = match log.format {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        };
        self.value("log.format", string(format));
    }
}

fn string(text: &str) -> Value {
    Value::String(text.to_owned())
}

fn path_value(path: &Path) -> Value {
    Value::String(path.display().to_string())
}

fn paths_value(paths: &[std::path::PathBuf]) -> Option<Value> {
    if paths.is_empty() {
        return None;
    }
    Some(Value::Array(paths.iter().map(|path| path_value(path)).collect()))
}

/// Writes a duration in its largest whole unit (`30d`, `6h`, `90s`), which reads better than
/// humantime's `30days` and parses back to the same value.
fn duration(duration: Duration) -> Value {
    const UNITS: [(&str, u64); 4] = [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)];

    let seconds = duration.as_secs();
    if duration.subsec_nanos() != 0 {
        return Value::String(humantime::format_duration(duration).to_string());
    }
    if seconds == 0 {
        return Value::String("0s".to_owned());
    }
    let (unit, size) =
        UNITS.into_iter().find(|(_, size)| seconds.is_multiple_of(*size)).unwrap_or(("s", 1));
    Value::String(format!("{}{unit}", seconds / size))
}

/// Converts a count to a TOML integer, saturating at `i64::MAX`.
fn integer(count: u64) -> Value {
    Value::Integer(i64::try_from(count).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_uses_largest_whole_unit() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_secs(90), "90s"),
            (Duration::from_secs(300), "5m"),
            (Duration::from_secs(6 * 3600), "6h"),
            (Duration::from_secs(30 * 86_400), "30d"),
            (Duration::from_secs(86_400 + 60), "1441m"),
            (Duration::from_millis(1500), "1s 500ms"),
        ];
        for (value, written) in cases {
            assert_eq!(duration(value), Value::String(written.to_owned()), "{value:?}");
            assert_eq!(humantime::parse_duration(written).unwrap(), value);
        }
    }
}
