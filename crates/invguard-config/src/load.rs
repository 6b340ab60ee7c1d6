//! Loading: defaults, the TOML file and the environment merged by the `config` crate, with the
//! origin of every value recorded on the way.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use config::{Map, Source, Value, ValueKind};

use crate::env::{self, EnvLayer};
use crate::registry::{self, JOB_NAMES, NOTIFIERS_KEY};
use crate::resolve::Resolver;
use crate::{Config, ConfigError};

/// The variable that names the configuration file when no `--config` is given.
pub const CONFIG_FILE_VARIABLE: &str = "INVGUARD_CONFIG";

/// The sources to load the configuration from.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The TOML file (`--config PATH`); when `None`, the file named by `INVGUARD_CONFIG`, if any.
    pub file: Option<PathBuf>,
    /// The environment; `None` reads the process environment. Tests pass a map.
    pub env: Option<HashMap<String, String>>,
}

/// The source of a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The built-in default, or a default computed from other values.
    Default,
    /// The configuration file.
    File(PathBuf),
    /// An environment variable, by name.
    Env(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File(path) => write!(f, "file {}", path.display()),
            Origin::Env(name) => f.write_str(name),
        }
    }
}

/// The origin of every key that has a value, by dotted key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origins(BTreeMap<String, Origin>);

impl Origins {
    /// Returns where the value of `key` came from; [`Origin::Default`] for keys never set.
    pub fn get(&self, key: &str) -> &Origin {
        self.0.get(key).unwrap_or(&Origin::Default)
    }

    /// Iterates over the keys that have a value and their origins, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Origin)> {
        self.0.iter().map(|(key, origin)| (key.as_str(), origin))
    }

    pub(crate) fn insert(&mut self, key: &str, origin: Origin) {
        self.0.insert(key.to_owned(), origin);
    }
}

/// A loaded configuration with its warnings and the origin of each value.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The validated configuration.
    pub config: Config,
    /// Problems that do not stop the program, for the binaries to log.
    pub warnings: Vec<String>,
    /// The origin of each value.
    pub origins: Origins,
    /// The configuration file that was read, if any.
    pub file: Option<PathBuf>,
    /// The files secrets were read from, by the key that names each file.
    pub(crate) secret_files: BTreeMap<String, PathBuf>,
}

impl Config {
    /// Loads the configuration from the built-in defaults, the TOML file and the environment,
    /// in rising precedence, and validates it.
    ///
    /// A missing passphrase is not an error here, so commands that do not encrypt keep working;
    /// `backup` calls [`Config::require_encryption_keys`].
    ///
    /// # Errors
    ///
    /// Returns a [`ConfigError`] naming the key or variable, the value and the expected form
    /// for an unreadable file, invalid TOML, an unknown key or variable, or an invalid value.
    pub fn load(options: &LoadOptions) -> Result<Loaded, ConfigError> {
        let env = match &options.env {
            Some(env) => env.clone(),
            None => env::process_environment()?,
        };
        let mut warnings = Vec::new();

        let file_path =
            options.file.clone().or_else(|| env.get(CONFIG_FILE_VARIABLE).map(PathBuf::from));
        let file = file_path.as_deref().map(FileLayer::read).transpose()?;
        let env_layer = env::read(&env, &mut warnings)?;

        let merged = merge(file.as_ref(), &env_layer)?;
        let origins = record_origins(&merged, file.as_ref(), &env_layer);

        let resolved = Resolver::new(merged, origins, &env).resolve()?;
        warnings.extend(resolved.warnings);

        if let Some(file) = &file {
            warnings.extend(file.loose_permissions_warning());
        }
        for warning in &warnings {
            tracing::debug!(%warning, "configuration warning");
        }

        Ok(Loaded {
            config: resolved.config,
            warnings,
            origins: resolved.origins,
            file: file_path,
            secret_files: resolved.secret_files,
        })
    }
}

/// The parsed configuration file and the dotted keys it sets.
#[derive(Debug)]
pub(crate) struct FileLayer {
    pub(crate) path: PathBuf,
    table: Map<String, Value>,
    keys: BTreeSet<String>,
}

impl FileLayer {
    /// Reads and parses the file and checks every key against the registry.
    fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = fs_err::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;

        let parse_error = |source| ConfigError::Parse { path: path.to_owned(), source };
        let table =
            config::File::from_str(&text, config::FileFormat::Toml).collect().map_err(|error| {
                match error {
                    config::ConfigError::FileParse { cause, .. } => parse_error(cause),
                    other => parse_error(Box::new(other)),
                }
            })?;

        let mut keys = BTreeSet::new();
        check_table(&table, "", path, &mut keys)?;
        tracing::debug!(path = %path.display(), keys = keys.len(), "read configuration file");
        Ok(FileLayer { path: path.to_owned(), table, keys })
    }

    /// Returns a warning when the file contains a secret and group or others can access it.
    fn loose_permissions_warning(&self) -> Option<String> {
        let has_secret = self.keys.iter().any(|key| {
            key == NOTIFIERS_KEY || registry::find_key(key).is_some_and(|info| info.secret)
        });
        if !has_secret {
            return None;
        }
        crate::secret::loose_permissions_warning("configuration file", &self.path)
    }
}

/// Checks the keys of one table of the file, recursing into sub-tables, and collects the dotted
/// keys of the values it sets.
fn check_table(
    table: &Map<String, Value>,
    prefix: &str,
    path: &Path,
    keys: &mut BTreeSet<String>,
) -> Result<(), ConfigError> {
    let mut names: Vec<&String> = table.keys().collect();
    names.sort();

    for name in names {
        let value = &table[name];
        let key = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };

        if prefix == "jobs" && !JOB_NAMES.contains(&name.as_str()) {
            return Err(unknown_job(name, &Origin::File(path.to_owned())));
        }
        if key == NOTIFIERS_KEY {
            check_notifiers(value, path)?;
            keys.insert(key);
        } else if let Some(info) = registry::find_key(&key) {
            check_leaf(info, value, path)?;
            keys.insert(key);
        } else if registry::is_table(&key) {
            let ValueKind::Table(inner) = &value.kind else {
                return Err(expected_table(&key, value, path));
            };
            check_table(inner, &key, path, keys)?;
        } else {
            return Err(unknown_key(&key, &Origin::File(path.to_owned())));
        }
    }
    Ok(())
}

fn check_leaf(info: &registry::KeyInfo, value: &Value, path: &Path) -> Result<(), ConfigError> {
    if !info.in_file {
        return Err(ConfigError::NotInFile {
            key: info.key.to_owned(),
            path: path.to_owned(),
            hint: not_in_file_hint(info.key),
        });
    }
    if matches!(value.kind, ValueKind::Table(_)) {
        return Err(ConfigError::Invalid {
            key: info.key.to_owned(),
            value: "a table".to_owned(),
            origin: Origin::File(path.to_owned()).to_string(),
            expected: format!("a single value ({})", info.kind),
        });
    }
    Ok(())
}

fn not_in_file_hint(key: &str) -> String {
    let options = match key {
        "encryption.passphrase" => {
            "set passphrase_file (or GPG_PASSPHRASE_FILE) to a file with mode 0600"
        }
        "api.token" => "set token_file (or API_TOKEN_FILE) to a file with mode 0600",
        _ => "set it in the environment",
    };
    options.to_owned()
}

/// Checks that `[[monitor.notifiers]]` is an array of tables with known keys.
fn check_notifiers(value: &Value, path: &Path) -> Result<(), ConfigError> {
    let origin = Origin::File(path.to_owned());
    let ValueKind::Array(entries) = &value.kind else {
        return Err(ConfigError::Invalid {
            key: NOTIFIERS_KEY.to_owned(),
            value: value.to_string(),
            origin: origin.to_string(),
            expected: "an array of tables, written [[monitor.notifiers]]".to_owned(),
        });
    };

    for (index, entry) in entries.iter().enumerate() {
        let ValueKind::Table(fields) = &entry.kind else {
            return Err(expected_table(&format!("{NOTIFIERS_KEY}[{index}]"), entry, path));
        };
        let mut names: Vec<&String> = fields.keys().collect();
        names.sort();
        for name in names {
            if registry::find_key(&format!("{NOTIFIERS_KEY}[].{name}")).is_none() {
                return Err(unknown_key(&format!("{NOTIFIERS_KEY}[].{name}"), &origin));
            }
        }
    }
    Ok(())
}

fn expected_table(key: &str, value: &Value, path: &Path) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        value: value.to_string(),
        origin: Origin::File(path.to_owned()).to_string(),
        expected: format!("a table, written [{key}]"),
    }
}

fn unknown_key(key: &str, origin: &Origin) -> ConfigError {
    ConfigError::UnknownKey {
        key: key.to_owned(),
        origin: origin.to_string(),
        suggestion: registry::nearest_key(key),
    }
}

pub(crate) fn unknown_job(name: &str, origin: &Origin) -> ConfigError {
    ConfigError::UnknownJob {
        name: name.to_owned(),
        origin: origin.to_string(),
        known: JOB_NAMES.join(", "),
    }
}

/// A layer of values handed to the `config` crate as a source.
#[derive(Debug, Clone)]
struct Layer(Map<String, Value>);

impl Source for Layer {
    fn clone_into_box(&self) -> Box<dyn Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<Map<String, Value>, config::ConfigError> {
        Ok(self.0.clone())
    }
}

/// Merges the static defaults of the registry, the file and the environment, in that order of
/// precedence, and flattens the result to dotted keys.
///
/// The environment is not read through `config::Environment`: with the prefix `INVGUARD` it
/// would skip `INVGUARD_RETENTION__KEEP_LAST` unless the prefix separator is `_`, then read
/// `INVGUARD_CONFIG` as a key `config`, and it cannot spell the job name `full-check`. The
/// registry maps every variable to its key instead (see `env::read`).
fn merge(file: Option<&FileLayer>, env: &EnvLayer) -> Result<BTreeMap<String, Value>, ConfigError> {
    let merge_error = |error: config::ConfigError| ConfigError::Merge(Box::new(error));
    let mut builder = config::Config::builder();

    for info in registry::keys() {
        if let Some(default) = info.default {
            builder = builder.set_default(info.key, default).map_err(merge_error)?;
        }
    }
    if let Some(file) = file {
        builder = builder.add_source(Layer(file.table.clone()));
    }
    builder = builder.add_source(Layer(env.to_map()));

    let merged = builder.build().map_err(merge_error)?;
    let mut flat = BTreeMap::new();
    if let ValueKind::Table(table) = merged.cache.kind {
        flatten(table, "", &mut flat);
    }
    Ok(flat)
}

/// Flattens nested tables into dotted keys; the notifier array stays one value.
fn flatten(table: Map<String, Value>, prefix: &str, out: &mut BTreeMap<String, Value>) {
    for (name, value) in table {
        let key = if prefix.is_empty() { name } else { format!("{prefix}.{name}") };
        match value.kind {
            ValueKind::Table(inner)
                if key != NOTIFIERS_KEY && registry::find_key(&key).is_none() =>
            {
                flatten(inner, &key, out);
            }
            kind => {
                out.insert(key, Value::new(None, kind));
            }
        }
    }
}

fn record_origins(
    merged: &BTreeMap<String, Value>,
    file: Option<&FileLayer>,
    env: &EnvLayer,
) -> Origins {
    let mut origins = Origins::default();
    for key in merged.keys() {
        let origin = if let Some(variable) = env.variable(key) {
            Origin::Env(variable.to_owned())
        } else if let Some(file) = file.filter(|file| file.keys.contains(key)) {
            Origin::File(file.path.clone())
        } else {
            Origin::Default
        };
        origins.insert(key, origin);
    }
    origins
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_env(pairs: &[(&str, &str)]) -> Result<Loaded, ConfigError> {
        let env = pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned()));
        Config::load(&LoadOptions { file: None, env: Some(env.collect()) })
    }

    #[test]
    fn load_empty_environment_uses_defaults() {
        let loaded = load_env(&[("TZ", "UTC")]).unwrap();
        assert_eq!(loaded.config.database.path, Path::new("/app/data/inventory.db"));
        assert_eq!(loaded.config.backup.temp_dir, Path::new("/app/backups/.invguard-tmp"));
        assert_eq!(*loaded.origins.get("database.path"), Origin::Default);
        assert_eq!(*loaded.origins.get("timezone"), Origin::Env("TZ".to_owned()));
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    }

    #[test]
    fn for_tests_sets_paths() {
        let config = Config::for_tests(Path::new("/tmp/x/db.sqlite"), Path::new("/tmp/x/backups"));
        assert_eq!(config.state.dir, Path::new("/tmp/x/backups/.invguard-state"));
        assert!(config.encryption.passphrase.is_none());
    }
}
