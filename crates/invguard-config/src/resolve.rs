//! Resolution: the merged values checked and converted to typed [`Config`] sections, with the
//! computed defaults filled in.

mod sections;

use std::collections::{BTreeMap, HashMap};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use config::{Value, ValueKind};

use crate::load::{Origin, Origins};
use crate::registry;
use crate::{Config, ConfigError, Secret};

const DURATION_FORM: &str = "a duration such as \"30s\", \"5m\", \"12h\", \"30d\" or \"2w\"";
const TIMEZONE_FORM: &str = "an IANA time zone name such as \"Europe/Berlin\" or \"UTC\"";

/// The merged values on their way to a [`Config`].
pub(crate) struct Resolver<'a> {
    values: BTreeMap<String, Value>,
    origins: Origins,
    env: &'a HashMap<String, String>,
    warnings: Vec<String>,
    secret_files: BTreeMap<String, PathBuf>,
}

/// The outcome of resolution.
pub(crate) struct Resolved {
    pub(crate) config: Config,
    /// The origins, with those of computed values added.
    pub(crate) origins: Origins,
    pub(crate) warnings: Vec<String>,
    /// The files secrets were read from, by the key that names each file.
    pub(crate) secret_files: BTreeMap<String, PathBuf>,
}

impl<'a> Resolver<'a> {
    pub(crate) fn new(
        values: BTreeMap<String, Value>,
        origins: Origins,
        env: &'a HashMap<String, String>,
    ) -> Self {
        Resolver { values, origins, env, warnings: Vec::new(), secret_files: BTreeMap::new() }
    }

    /// Builds the configuration.
    pub(crate) fn resolve(mut self) -> Result<Resolved, ConfigError> {
        let timezone = self.timezone()?;
        let database = self.database()?;
        let backup = self.backup()?;
        let encryption = self.encryption()?;
        let verify = self.verify()?;
        let retention = self.retention()?;
        let api = self.api()?;
        let monitor = self.monitor()?;
        let jobs = self.jobs(monitor.interval)?;
        let state = self.state(&backup.dir)?;
        let log = self.log()?;

        let config = Config {
            timezone,
            database,
            backup,
            encryption,
            verify,
            retention,
            api,
            monitor,
            jobs,
            state,
            log,
        };
        Ok(Resolved {
            config,
            origins: self.origins,
            warnings: self.warnings,
            secret_files: self.secret_files,
        })
    }

    fn origin(&self, key: &str) -> &Origin {
        self.origins.get(key)
    }

    /// Returns whether the operator set `key`, in the file or the environment.
    fn is_set(&self, key: &str) -> bool {
        self.values.contains_key(key) && *self.origin(key) != Origin::Default
    }

    /// Returns `key (from origin)`, the way conflict messages name a setting.
    fn describe(&self, key: &str) -> String {
        format!("{key} (from {})", self.origin(key))
    }

    fn invalid(&self, key: &str, value: &Value, expected: impl Into<String>) -> ConfigError {
        let secret = registry::find_key(key).is_some_and(|info| info.secret);
        ConfigError::Invalid {
            key: key.to_owned(),
            value: if secret { "<redacted>".to_owned() } else { display(value) },
            origin: self.origin(key).to_string(),
            expected: expected.into(),
        }
    }

    /// Converts the value of `key`, if it has one, with `convert`; `None` from `convert` is an
    /// error that names `expected`.
    fn parse<T>(
        &self,
        key: &str,
        expected: &str,
        convert: impl FnOnce(&ValueKind) -> Option<T>,
    ) -> Result<Option<T>, ConfigError> {
        let Some(value) = self.values.get(key) else { return Ok(None) };
        match convert(&value.kind) {
            Some(converted) => Ok(Some(converted)),
            None => Err(self.invalid(key, value, expected)),
        }
    }

    /// Unwraps the value of a key that has a built-in default.
    fn required<T>(&self, key: &str, value: Option<T>) -> Result<T, ConfigError> {
        value.ok_or_else(|| ConfigError::Merge(format!("no value and no default for {key}").into()))
    }

    fn string(&self, key: &str) -> Result<Option<String>, ConfigError> {
        self.parse(key, "a string", |kind| text(kind).map(str::to_owned))
    }

    fn secret(&self, key: &str) -> Result<Option<Secret>, ConfigError> {
        self.parse(key, "a string", |kind| text(kind).map(|text| Secret::new(text.to_owned())))
    }

    fn integer<T: TryFrom<i64>>(
        &self,
        key: &str,
        range: RangeInclusive<i64>,
    ) -> Result<Option<T>, ConfigError> {
        let expected = if *range.end() >= i64::from(u32::MAX) {
            format!("a whole number of at least {}", range.start())
        } else {
            format!("a whole number from {} to {}", range.start(), range.end())
        };
        self.parse(key, &expected, |kind| {
            integer(kind).filter(|number| range.contains(number)).and_then(|n| T::try_from(n).ok())
        })
    }

    fn number(&self, key: &str, range: RangeInclusive<f64>) -> Result<Option<f64>, ConfigError> {
        let expected = format!("a number from {} to {}", range.start(), range.end());
        self.parse(key, &expected, |kind| float(kind).filter(|number| range.contains(number)))
    }

    fn boolean(&self, key: &str) -> Result<Option<bool>, ConfigError> {
        self.parse(key, "true or false", boolean)
    }

    fn duration(&self, key: &str) -> Result<Option<Duration>, ConfigError> {
        self.parse(key, DURATION_FORM, |kind| text(kind).and_then(parse_duration))
    }

    fn positive_duration(&self, key: &str) -> Result<Option<Duration>, ConfigError> {
        let expected = format!("{DURATION_FORM}, longer than zero");
        self.parse(key, &expected, |kind| {
            text(kind).and_then(parse_duration).filter(|duration| !duration.is_zero())
        })
    }

    fn path(&self, key: &str) -> Result<Option<PathBuf>, ConfigError> {
        self.parse(key, "an absolute path", |kind| text(kind).and_then(absolute_path))
    }

    fn paths(&self, key: &str) -> Result<Vec<PathBuf>, ConfigError> {
        let paths = self.parse(key, "a list of absolute paths", |kind| match kind {
            ValueKind::Array(items) => {
                items.iter().map(|item| text(&item.kind).and_then(absolute_path)).collect()
            }
            _ => None,
        })?;
        Ok(paths.unwrap_or_default())
    }

    fn timezone_value(&self, key: &str) -> Result<Option<Tz>, ConfigError> {
        let Some(value) = self.values.get(key) else { return Ok(None) };
        let name = text(&value.kind);
        match name.and_then(|name| name.parse::<Tz>().ok()) {
            Some(tz) => Ok(Some(tz)),
            None => Err(self.invalid(key, value, timezone_expected(name.unwrap_or_default()))),
        }
    }

    /// Looks a string up among `choices` (case-sensitive).
    fn choice<T: Copy>(&self, key: &str, choices: &[(&str, T)]) -> Result<Option<T>, ConfigError> {
        let names: Vec<String> = choices.iter().map(|(name, _)| format!("{name:?}")).collect();
        let expected = format!("one of {}", names.join(", "));
        self.parse(key, &expected, |kind| {
            let written = text(kind)?;
            choices.iter().find(|(name, _)| *name == written).map(|(_, choice)| *choice)
        })
    }

    /// Reads a secret from the file `path` named by `key`, with a warning for loose permissions.
    fn read_secret(&mut self, key: &str, path: &Path) -> Result<Secret, ConfigError> {
        let secret = crate::read_secret_file(key, path)?;
        self.warnings.extend(crate::secret::loose_permissions_warning(key, path));
        self.secret_files.insert(key.to_owned(), path.to_owned());
        Ok(secret)
    }

    /// Returns a secret given inline by `key` or in the file named by `file_key`; setting both is
    /// an error.
    fn secret_or_file(&mut self, key: &str, file_key: &str) -> Result<Option<Secret>, ConfigError> {
        let inline = self.secret(key)?;
        let file = self.path(file_key)?;
        match (inline, file) {
            (Some(_), Some(_)) => Err(ConfigError::Conflict {
                first: self.describe(key),
                second: self.describe(file_key),
            }),
            (Some(secret), None) => Ok(Some(secret)),
            (None, Some(path)) => self.read_secret(file_key, &path).map(Some),
            (None, None) => Ok(None),
        }
    }
}

fn text(kind: &ValueKind) -> Option<&str> {
    match kind {
        ValueKind::String(text) => Some(text),
        _ => None,
    }
}

fn integer(kind: &ValueKind) -> Option<i64> {
    match kind {
        ValueKind::I64(number) => Some(*number),
        ValueKind::U64(number) => i64::try_from(*number).ok(),
        ValueKind::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn float(kind: &ValueKind) -> Option<f64> {
    let number = match kind {
        ValueKind::Float(number) => *number,
        ValueKind::I64(number) => *number as f64,
        ValueKind::String(text) => text.trim().parse().ok()?,
        _ => return None,
    };
    number.is_finite().then_some(number)
}

fn boolean(kind: &ValueKind) -> Option<bool> {
    match kind {
        ValueKind::Boolean(value) => Some(*value),
        ValueKind::String(text) if text.eq_ignore_ascii_case("true") => Some(true),
        ValueKind::String(text) if text.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Parses a duration with units (`30s`, `12h`, `30d`, `2w`, `1h 30m`); a bare number is
/// rejected because its unit would be a guess.
fn parse_duration(text: &str) -> Option<Duration> {
    humantime::parse_duration(text.trim()).ok()
}

fn absolute_path(text: &str) -> Option<PathBuf> {
    let path = PathBuf::from(text);
    path.is_absolute().then_some(path)
}

/// The expected form of a time zone, with the nearest known name when one is close.
fn timezone_expected(written: &str) -> String {
    let names = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
    match registry::nearest(written, names) {
        Some(name) => format!("{TIMEZONE_FORM} (did you mean {name:?}?)"),
        None => TIMEZONE_FORM.to_owned(),
    }
}

/// Shows a value the way an operator wrote it.
fn display(value: &Value) -> String {
    match &value.kind {
        ValueKind::Table(_) => "a table".to_owned(),
        ValueKind::Array(items) => {
            let items: Vec<String> = items.iter().map(display).collect();
            format!("[{}]", items.join(", "))
        }
        kind => kind.to_string(),
    }
}
