//! Handing a loaded configuration, secrets included, from one process to a child through a
//! pipe.
//!
//! The scheduler daemon runs each job as a child process of its own binary. The child must use
//! the configuration the daemon has in force, not what the file contains at that moment (it may have
//! been edited, or rejected on reload), and it needs the secrets that exist only in the daemon's
//! environment, which [`secret_free_command`](crate::secret_free_command) keeps out of the
//! child's environment. [`encode_handoff`] turns a [`Loaded`] into a JSON document for the
//! child's standard input; [`decode_handoff`] reads it back.
//!
//! The document holds the secrets in clear text. It belongs in a pipe only: never in a file, an
//! argument, an environment variable or a log line. The buffers that hold it are zeroized when
//! dropped, and error messages name only the position of a problem, never a value.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

use crate::{
    ApiConfig, BackupConfig, Config, ConfigError, DatabaseConfig, EncryptionConfig, EncryptionMode,
    JobConfig, JobSchedule, JobsConfig, Loaded, LogConfig, LogFormat, LogLevel, LoginConfig,
    MonitorConfig, NotifierConfig, Origin, Origins, RetentionConfig, Secret, StateConfig,
    VerifyConfig, VerifyLevel,
};

/// The version of the handoff document this build writes and reads.
pub const HANDOFF_FORMAT_VERSION: u32 = 1;

/// The largest handoff document [`decode_handoff`] accepts, in bytes.
const MAX_HANDOFF_BYTES: usize = 4 * 1024 * 1024;

/// Encodes `loaded` as a handoff document for a child process, secrets included.
///
/// Write the result to a pipe that the child reads with [`decode_handoff`]; never to a file or
/// a log. The buffer is zeroized when dropped.
///
/// # Errors
///
/// [`ConfigError::Handoff`] when a value cannot be encoded, such as a path that is not UTF-8.
pub fn encode_handoff(loaded: &Loaded) -> Result<Zeroizing<Vec<u8>>, ConfigError> {
    let document = Document {
        format_version: HANDOFF_FORMAT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        config: ConfigRef(&loaded.config),
        origins: loaded
            .origins
            .iter()
            .map(|(key, origin)| (key.to_owned(), origin.into()))
            .collect(),
        file: loaded.file.clone(),
        secret_files: loaded.secret_files.clone(),
    };

    // Measure first, so the buffer never grows and leaves copies of the secrets behind.
    let mut counter = Counter(0);
    serde_json::to_writer(&mut counter, &document)
        .map_err(|error| handoff_error("encode", &error))?;
    let mut buffer = Zeroizing::new(Vec::with_capacity(counter.0));
    serde_json::to_writer(&mut *buffer, &document)
        .map_err(|error| handoff_error("encode", &error))?;
    Ok(buffer)
}

/// Reads a handoff document written by [`encode_handoff`] from `reader` to its end.
///
/// The returned [`Loaded`] has no warnings: the process that loaded the configuration reported
/// them.
///
/// # Errors
///
/// [`ConfigError::Handoff`] when the document cannot be read, is larger than 4 MiB, is not
/// valid, or comes from a build with another format version.
///
/// # Example
///
/// ```
/// use std::collections::HashMap;
///
/// use invguard_config::{Config, LoadOptions, decode_handoff, encode_handoff};
///
/// let env = HashMap::from([
///     ("TZ".to_owned(), "UTC".to_owned()),
///     ("GPG_PASSPHRASE".to_owned(), "correct horse".to_owned()),
/// ]);
/// let loaded = Config::load(&LoadOptions { file: None, env: Some(env) })?;
///
/// // The parent writes these bytes to the child's pipe, and the child reads them back.
/// let bytes = encode_handoff(&loaded)?;
/// let handed_over = decode_handoff(&bytes[..])?;
/// let passphrase = handed_over.config.encryption.passphrase.as_ref().map(|p| p.expose());
/// assert_eq!(passphrase, Some("correct horse"));
/// # Ok::<(), invguard_config::ConfigError>(())
/// ```
pub fn decode_handoff(reader: impl Read) -> Result<Loaded, ConfigError> {
    let mut buffer = Zeroizing::new(Vec::with_capacity(MAX_HANDOFF_BYTES + 1));
    let limit = u64::try_from(MAX_HANDOFF_BYTES + 1).unwrap_or(u64::MAX);
    reader.take(limit).read_to_end(&mut buffer).map_err(|error| ConfigError::Handoff {
        reason: format!("cannot read the configuration handoff: {}", error.kind()),
    })?;
    if buffer.len() > MAX_HANDOFF_BYTES {
        return Err(ConfigError::Handoff {
            reason: format!("the configuration handoff is larger than {MAX_HANDOFF_BYTES} bytes"),
        });
    }

    let header: Header =
        serde_json::from_slice(&buffer).map_err(|error| handoff_error("decode", &error))?;
    if header.format_version != HANDOFF_FORMAT_VERSION {
        return Err(ConfigError::Handoff {
            reason: format!(
                "the configuration handoff has format_version {} from version {}, this build \
                 reads {HANDOFF_FORMAT_VERSION}: restart the daemon after an upgrade",
                header.format_version, header.tool_version
            ),
        });
    }

    let document: OwnedDocument =
        serde_json::from_slice(&buffer).map_err(|error| handoff_error("decode", &error))?;
    let mut origins = Origins::default();
    for (key, origin) in document.origins {
        origins.insert(&key, origin.into());
    }
    Ok(Loaded {
        config: document.config.0,
        warnings: Vec::new(),
        origins,
        file: document.file,
        secret_files: document.secret_files,
    })
}

/// Describes a JSON error by its kind and position only: serde's messages can quote a value,
/// and a value may be a secret.
fn handoff_error(operation: &str, error: &serde_json::Error) -> ConfigError {
    let kind = match error.classify() {
        serde_json::error::Category::Io => "I/O error",
        serde_json::error::Category::Syntax => "invalid JSON",
        serde_json::error::Category::Data => "unexpected value",
        serde_json::error::Category::Eof => "unexpected end",
    };
    let position = if error.line() == 0 {
        String::new()
    } else {
        format!(" at line {} column {}", error.line(), error.column())
    };
    ConfigError::Handoff {
        reason: format!("cannot {operation} the configuration handoff: {kind}{position}"),
    }
}

/// A writer that only counts bytes.
struct Counter(usize);

impl Write for Counter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The fields every version of the document starts with.
#[derive(Deserialize)]
struct Header {
    format_version: u32,
    tool_version: String,
}

#[derive(Serialize)]
struct Document<'a> {
    format_version: u32,
    tool_version: String,
    config: ConfigRef<'a>,
    origins: Vec<(String, OriginDef)>,
    file: Option<PathBuf>,
    secret_files: BTreeMap<String, PathBuf>,
}

#[derive(Deserialize)]
struct OwnedDocument {
    config: ConfigOwned,
    origins: Vec<(String, OriginDef)>,
    file: Option<PathBuf>,
    secret_files: BTreeMap<String, PathBuf>,
}

#[derive(Serialize)]
struct ConfigRef<'a>(#[serde(with = "ConfigDef")] &'a Config);

#[derive(Deserialize)]
struct ConfigOwned(#[serde(with = "ConfigDef")] Config);

#[derive(Serialize, Deserialize)]
enum OriginDef {
    Default,
    File(PathBuf),
    Env(String),
}

impl From<&Origin> for OriginDef {
    fn from(origin: &Origin) -> OriginDef {
        match origin {
            Origin::Default => OriginDef::Default,
            Origin::File(path) => OriginDef::File(path.clone()),
            Origin::Env(name) => OriginDef::Env(name.clone()),
        }
    }
}

impl From<OriginDef> for Origin {
    fn from(origin: OriginDef) -> Origin {
        match origin {
            OriginDef::Default => Origin::Default,
            OriginDef::File(path) => Origin::File(path),
            OriginDef::Env(name) => Origin::Env(name),
        }
    }
}

// The definitions below mirror the configuration types field by field. serde's `remote`
// derive builds the real types from them, so a field added to a configuration type fails to
// compile here until it is handed over too.

#[derive(Serialize, Deserialize)]
#[serde(remote = "Config")]
struct ConfigDef {
    #[serde(with = "tz")]
    timezone: Tz,
    #[serde(with = "DatabaseConfigDef")]
    database: DatabaseConfig,
    #[serde(with = "BackupConfigDef")]
    backup: BackupConfig,
    #[serde(with = "EncryptionConfigDef")]
    encryption: EncryptionConfig,
    #[serde(with = "VerifyConfigDef")]
    verify: VerifyConfig,
    #[serde(with = "RetentionConfigDef")]
    retention: RetentionConfig,
    #[serde(with = "ApiConfigDef")]
    api: ApiConfig,
    #[serde(with = "MonitorConfigDef")]
    monitor: MonitorConfig,
    #[serde(with = "JobsConfigDef")]
    jobs: JobsConfig,
    #[serde(with = "StateConfigDef")]
    state: StateConfig,
    #[serde(with = "LogConfigDef")]
    log: LogConfig,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "DatabaseConfig")]
struct DatabaseConfigDef {
    path: PathBuf,
    name: String,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "BackupConfig")]
struct BackupConfigDef {
    dir: PathBuf,
    temp_dir: PathBuf,
    compression_level: i32,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "EncryptionMode")]
enum EncryptionModeDef {
    Passphrase,
    PublicKey,
    None,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "EncryptionConfig")]
struct EncryptionConfigDef {
    #[serde(with = "EncryptionModeDef")]
    mode: EncryptionMode,
    #[serde(with = "option_secret")]
    passphrase: Option<Secret>,
    passphrase_file: Option<PathBuf>,
    passphrase_files: Vec<PathBuf>,
    recipients: Vec<PathBuf>,
    secret_key_file: Option<PathBuf>,
    secret_key_files: Vec<PathBuf>,
    secret_key_passphrase_file: Option<PathBuf>,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "VerifyLevel")]
enum VerifyLevelDef {
    Quick,
    Full,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "VerifyConfig")]
struct VerifyConfigDef {
    #[serde(with = "VerifyLevelDef")]
    level: VerifyLevel,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "RetentionConfig")]
struct RetentionConfigDef {
    keep_last: Option<u32>,
    keep_hourly: Option<u32>,
    keep_daily: Option<u32>,
    keep_weekly: Option<u32>,
    keep_monthly: Option<u32>,
    keep_yearly: Option<u32>,
    keep_within: Option<Duration>,
    min_keep: u32,
    include_legacy: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "ApiConfig")]
struct ApiConfigDef {
    url: String,
    #[serde(with = "option_secret")]
    token: Option<Secret>,
    #[serde(with = "option_login")]
    login: Option<LoginConfig>,
    connect_timeout: Duration,
    read_timeout: Duration,
    max_body_bytes: u64,
    health_expect_field: Option<String>,
    health_expect_value: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "LoginConfig")]
struct LoginConfigDef {
    endpoint: String,
    username: String,
    #[serde(with = "secret")]
    password: Secret,
    token_field: String,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "MonitorConfig")]
struct MonitorConfigDef {
    interval: Duration,
    api_response_time_ms: u64,
    low_stock_percentage: f64,
    low_stock_max_items: usize,
    backup_failure_hours: f64,
    disk_space_gb: f64,
    disk_usage_percentage: f64,
    wal_warning_bytes: u64,
    failure_threshold: u32,
    success_threshold: u32,
    reminder_interval: Duration,
    #[serde(with = "notifiers")]
    notifiers: Vec<NotifierConfig>,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "NotifierConfig")]
enum NotifierConfigDef {
    Webhook {
        #[serde(with = "secret")]
        url: Secret,
    },
    Slack {
        #[serde(with = "secret")]
        url: Secret,
    },
    Discord {
        #[serde(with = "secret")]
        url: Secret,
    },
    Teams {
        #[serde(with = "secret")]
        url: Secret,
    },
    Ntfy {
        #[serde(with = "secret")]
        url: Secret,
        #[serde(with = "option_secret")]
        token: Option<Secret>,
    },
    Command {
        program: PathBuf,
        args: Vec<String>,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "JobsConfig")]
struct JobsConfigDef {
    #[serde(with = "jobs")]
    jobs: BTreeMap<String, JobConfig>,
    grace_period: Duration,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "JobSchedule")]
enum JobScheduleDef {
    Cron(String),
    Interval(Duration),
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "JobConfig")]
struct JobConfigDef {
    enabled: bool,
    #[serde(with = "JobScheduleDef")]
    schedule: JobSchedule,
    #[serde(with = "option_tz")]
    timezone: Option<Tz>,
    max_runtime: Duration,
    catch_up: Duration,
    retries: u32,
    retry_backoff: Duration,
    #[serde(with = "option_secret")]
    ping_url: Option<Secret>,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "StateConfig")]
struct StateConfigDef {
    dir: PathBuf,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "LogLevel")]
enum LogLevelDef {
    Debug,
    Info,
    Warning,
    Error,
    Critical,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "LogFormat")]
enum LogFormatDef {
    Text,
    Json,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "LogConfig")]
struct LogConfigDef {
    #[serde(with = "LogLevelDef")]
    level: LogLevel,
    #[serde(with = "LogFormatDef")]
    format: LogFormat,
}

/// A [`Secret`] as a JSON string.
mod secret {
    use super::*;

    pub(super) fn serialize<S: Serializer>(
        value: &Secret,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(value.expose())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Secret, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

mod option_secret {
    use super::*;

    pub(super) fn serialize<S: Serializer>(
        value: &Option<Secret>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        value.as_ref().map(Secret::expose).serialize(serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Secret>, D::Error> {
        Ok(Option::<String>::deserialize(deserializer)?.map(Secret::new))
    }
}

/// A time zone by its IANA name.
mod tz {
    use super::*;

    pub(super) fn serialize<S: Serializer>(value: &Tz, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(value.name())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Tz, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(|_| serde::de::Error::custom("unknown time zone"))
    }
}

mod option_tz {
    use super::*;

    pub(super) fn serialize<S: Serializer>(
        value: &Option<Tz>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        value.map(|tz| tz.name()).serialize(serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Tz>, D::Error> {
        let name = Option::<String>::deserialize(deserializer)?;
        name.map(|name| name.parse().map_err(|_| serde::de::Error::custom("unknown time zone")))
            .transpose()
    }
}

mod option_login {
    use super::*;

    #[derive(Serialize)]
    struct Borrowed<'a>(#[serde(with = "LoginConfigDef")] &'a LoginConfig);

    #[derive(Deserialize)]
    struct Owned(#[serde(with = "LoginConfigDef")] LoginConfig);

    pub(super) fn serialize<S: Serializer>(
        value: &Option<LoginConfig>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        value.as_ref().map(Borrowed).serialize(serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<LoginConfig>, D::Error> {
        Ok(Option::<Owned>::deserialize(deserializer)?.map(|Owned(login)| login))
    }
}

mod notifiers {
    use super::*;

    #[derive(Serialize)]
    struct Borrowed<'a>(#[serde(with = "NotifierConfigDef")] &'a NotifierConfig);

    #[derive(Deserialize)]
    struct Owned(#[serde(with = "NotifierConfigDef")] NotifierConfig);

    pub(super) fn serialize<S: Serializer>(
        value: &[NotifierConfig],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(value.iter().map(Borrowed))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<NotifierConfig>, D::Error> {
        Ok(Vec::<Owned>::deserialize(deserializer)?.into_iter().map(|Owned(n)| n).collect())
    }
}

mod jobs {
    use super::*;

    #[derive(Serialize)]
    struct Borrowed<'a>(#[serde(with = "JobConfigDef")] &'a JobConfig);

    #[derive(Deserialize)]
    struct Owned(#[serde(with = "JobConfigDef")] JobConfig);

    pub(super) fn serialize<S: Serializer>(
        value: &BTreeMap<String, JobConfig>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_map(value.iter().map(|(name, job)| (name, Borrowed(job))))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<String, JobConfig>, D::Error> {
        let jobs = BTreeMap::<String, Owned>::deserialize(deserializer)?;
        Ok(jobs.into_iter().map(|(name, Owned(job))| (name, job)).collect())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::LoadOptions;

    const PASSPHRASE: &str = "handoff-passphrase-31c7";

    fn loaded_with_secrets() -> (tempfile::TempDir, Loaded) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        let password = dir.path().join("password");
        fs_err::write(&password, "login-password-9b2e\n").unwrap();
        let text = format!(
            "timezone = \"Europe/Berlin\"\n\
             [api]\nurl = \"http://127.0.0.1:9/api\"\n\
             [api.login]\nusername = \"monitor\"\npassword_file = \"{}\"\n\
             [[monitor.notifiers]]\ntype = \"ntfy\"\nurl = \"http://127.0.0.1:9/topic-5a1f\"\n\
             token = \"ntfy-token-77d0\"\n\
             [[monitor.notifiers]]\ntype = \"command\"\nprogram = \"/bin/true\"\nargs = [\"-x\"]\n\
             [jobs.backup]\ntimezone = \"America/New_York\"\n\
             ping_url = \"http://127.0.0.1:9/ping-6c0e\"\n",
            password.display()
        );
        fs_err::write(&file, text).unwrap();
        let env = HashMap::from([
            ("GPG_PASSPHRASE".to_owned(), PASSPHRASE.to_owned()),
            ("API_TOKEN".to_owned(), "api-token-1d9a".to_owned()),
            ("INVGUARD_RETENTION__KEEP_DAILY".to_owned(), "9".to_owned()),
        ]);
        let loaded = Config::load(&LoadOptions { file: Some(file), env: Some(env) }).unwrap();
        (dir, loaded)
    }

    #[test]
    fn decode_handoff_round_trip_keeps_every_value() {
        let (_dir, loaded) = loaded_with_secrets();
        let encoded = encode_handoff(&loaded).unwrap();
        let decoded = decode_handoff(&encoded[..]).unwrap();

        // The rendered configuration shows every key with its origin; secrets are compared
        // separately because rendering redacts them.
        assert_eq!(decoded.render_toml(), loaded.render_toml());
        assert_eq!(decoded.file, loaded.file);
        assert!(decoded.warnings.is_empty());

        let config = &decoded.config;
        assert_eq!(config.encryption.passphrase.as_ref().unwrap().expose(), PASSPHRASE);
        assert_eq!(config.api.token.as_ref().unwrap().expose(), "api-token-1d9a");
        assert_eq!(config.api.login.as_ref().unwrap().password.expose(), "login-password-9b2e");
        let backup = &config.jobs.jobs["backup"];
        assert_eq!(backup.ping_url.as_ref().unwrap().expose(), "http://127.0.0.1:9/ping-6c0e");
        assert_eq!(backup.timezone, Some(chrono_tz::America::New_York));
        match &config.monitor.notifiers[..] {
            [NotifierConfig::Ntfy { url, token }, NotifierConfig::Command { program, args }] => {
                assert_eq!(url.expose(), "http://127.0.0.1:9/topic-5a1f");
                assert_eq!(token.as_ref().unwrap().expose(), "ntfy-token-77d0");
                assert_eq!(program, &PathBuf::from("/bin/true"));
                assert_eq!(args, &["-x"]);
            }
            other => panic!("unexpected notifiers {other:?}"),
        }
    }

    #[test]
    fn decode_handoff_rejects_other_format_version() {
        let (_dir, loaded) = loaded_with_secrets();
        let encoded = encode_handoff(&loaded).unwrap();
        let text = std::str::from_utf8(&encoded).unwrap().replacen(
            "\"format_version\":1",
            "\"format_version\":2",
            1,
        );

        let error = decode_handoff(text.as_bytes()).unwrap_err();
        assert!(error.to_string().contains("format_version 2"), "{error}");
    }

    #[test]
    fn decode_handoff_error_never_quotes_a_value() {
        let (_dir, loaded) = loaded_with_secrets();
        let encoded = encode_handoff(&loaded).unwrap();
        // The passphrase where a number is expected makes serde quote the value it found.
        let text = std::str::from_utf8(&encoded).unwrap().replacen(
            "\"compression_level\":3",
            &format!("\"compression_level\":\"{PASSPHRASE}\""),
            1,
        );

        let error = decode_handoff(text.as_bytes()).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("unexpected value at line 1"), "{message}");
        assert!(!message.contains(PASSPHRASE), "{message}");
    }

    #[test]
    fn decode_handoff_rejects_empty_input() {
        let error = decode_handoff(&b""[..]).unwrap_err();
        assert!(error.to_string().contains("unexpected end"), "{error}");
    }
}
