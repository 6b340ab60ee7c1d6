//! The environment layer: `INVGUARD_<SECTION>__<KEY>` variables and the variables of the
//! original service, mapped to keys through the registry.

use std::collections::{BTreeMap, HashMap};

use config::{Map, Value};

use crate::ConfigError;
use crate::load::{CONFIG_FILE_VARIABLE, Origin, unknown_job};
use crate::registry::{self, JOB_NAMES, KeyInfo};

const PREFIX: &str = "INVGUARD_";

/// Variables of the original service whose value is converted to the form of their key. Every
/// other variable is taken as written.
const BACKUP_RETENTION_DAYS: &str = "BACKUP_RETENTION_DAYS";
const HEALTH_CHECK_INTERVAL: &str = "HEALTH_CHECK_INTERVAL";

/// Values set by the environment, by dotted key, with the variable that set each.
#[derive(Debug, Default)]
pub(crate) struct EnvLayer {
    values: BTreeMap<&'static str, (Value, String)>,
}

impl EnvLayer {
    /// Returns the variable that set `key`, if the environment set it.
    pub(crate) fn variable(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|(_, variable)| variable.as_str())
    }

    /// Returns the values as a flat map of dotted keys for the `config` crate.
    pub(crate) fn to_map(&self) -> Map<String, Value> {
        self.values.iter().map(|(key, (value, _))| ((*key).to_owned(), value.clone())).collect()
    }
}

/// Reads the process environment; names that are not UTF-8 are skipped because no key has one.
///
/// # Errors
///
/// A variable that sets a key and whose value is not UTF-8 is an error, because converting it
/// would silently change a passphrase or a path.
pub(crate) fn process_environment() -> Result<HashMap<String, String>, ConfigError> {
    let mut env = HashMap::new();
    for (name, value) in std::env::vars_os() {
        let Ok(name) = name.into_string() else { continue };
        match value.into_string() {
            Ok(value) => {
                env.insert(name, value);
            }
            Err(_) if is_relevant(&name) => {
                return Err(ConfigError::Invalid {
                    key: name.clone(),
                    value: "<not UTF-8>".to_owned(),
                    origin: name,
                    expected: "UTF-8 text".to_owned(),
                });
            }
            Err(_) => {}
        }
    }
    Ok(env)
}

fn is_relevant(name: &str) -> bool {
    name.starts_with(PREFIX) || registry::keys().iter().any(|info| info.env.contains(&name))
}

/// Maps the environment to keys: first the variables of the original service, then the
/// `INVGUARD_` variables, which win over them with a warning naming both.
///
/// # Errors
///
/// An unknown `INVGUARD_` variable, a job name no job has, or an invalid value of a variable
/// whose value is converted (`BACKUP_RETENTION_DAYS`, `HEALTH_CHECK_INTERVAL`).
pub(crate) fn read(
    env: &HashMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<EnvLayer, ConfigError> {
    let mut layer = EnvLayer::default();

    for info in registry::keys() {
        for legacy in info.env.iter().skip(1) {
            if let Some(value) = non_empty(env, legacy, warnings) {
                let value = convert_legacy(info, legacy, value)?;
                layer.values.insert(info.key, (Value::new(None, value), (*legacy).to_owned()));
            }
        }
    }

    let mut names: Vec<&String> = env.keys().filter(|name| name.starts_with(PREFIX)).collect();
    names.sort();
    for name in names {
        if name == CONFIG_FILE_VARIABLE {
            continue;
        }
        let info = registry::find_invguard_variable(name).ok_or_else(|| unknown_variable(name))?;
        let Some(value) = non_empty(env, name, warnings) else { continue };

        if let Some((_, legacy)) = layer.values.get(info.key) {
            warnings.push(format!("{name} and {legacy} both set {}: using {name}", info.key));
        }
        layer.values.insert(info.key, (env_value(info, value), name.clone()));
    }
    Ok(layer)
}

/// Returns the value of a variable, treating an empty value as unset with a warning, because
/// container environments often pass `VAR=` for a variable the operator never set.
fn non_empty<'a>(
    env: &'a HashMap<String, String>,
    name: &str,
    warnings: &mut Vec<String>,
) -> Option<&'a str> {
    let value = env.get(name)?;
    if value.is_empty() {
        warnings.push(format!("{name} is set but empty: it is ignored"));
        return None;
    }
    Some(value)
}

/// Converts the value of a variable of the original service to the form of its key.
fn convert_legacy(info: &KeyInfo, name: &str, value: &str) -> Result<String, ConfigError> {
    let (unit, expected) = match name {
        BACKUP_RETENTION_DAYS => ("d", "a positive whole number of days, such as 30"),
        HEALTH_CHECK_INTERVAL => ("s", "a positive whole number of seconds, such as 300"),
        _ => return Ok(value.to_owned()),
    };

    match value.trim().parse::<u32>() {
        Ok(count) if count > 0 => Ok(format!("{count}{unit}")),
        _ => Err(ConfigError::Invalid {
            key: info.key.to_owned(),
            value: value.to_owned(),
            origin: name.to_owned(),
            expected: expected.to_owned(),
        }),
    }
}

/// Converts the text of a variable to a value; lists are comma-separated.
fn env_value(info: &KeyInfo, value: &str) -> Value {
    if info.kind.ends_with(" list") {
        let items: Vec<Value> = value
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| Value::new(None, item))
            .collect();
        return Value::new(None, items);
    }
    Value::new(None, value)
}

fn unknown_variable(name: &str) -> ConfigError {
    if let Some(error) = unknown_job_variable(name) {
        return error;
    }

    // A variable whose table exists is compared as the key it spells, with the keys of that
    // table only, so INVGUARD_BACKUP__COLOUR suggests nothing rather than INVGUARD_BACKUP__DIR.
    // Other variables are compared without the shared prefix, which catches a single `_` in
    // place of `__`. Comparing the prefix too would make every name look close.
    let spelled = name.trim_start_matches(PREFIX).to_lowercase().replace("__", ".");
    let table = spelled.rsplit_once('.').map_or("", |(table, _)| table);
    let suggestion = if registry::is_table(table) {
        registry::nearest_key(&spelled)
            .and_then(|key| registry::find_key(&key))
            .and_then(|info| info.env.first().map(|variable| (*variable).to_owned()))
    } else {
        let unprefixed = name.strip_prefix(PREFIX).unwrap_or(name);
        let variables = registry::keys()
            .iter()
            .filter_map(|info| info.env.first().and_then(|variable| variable.strip_prefix(PREFIX)));
        registry::nearest(unprefixed, variables).map(|found| format!("{PREFIX}{found}"))
    };
    ConfigError::UnknownVariable { name: name.to_owned(), suggestion }
}

/// Returns an unknown-job error for `INVGUARD_JOBS__<NAME>__<KEY>` with a name no job has.
fn unknown_job_variable(name: &str) -> Option<ConfigError> {
    let rest = name.strip_prefix("INVGUARD_JOBS__")?;
    let (job, _) = rest.split_once("__")?;
    let known = JOB_NAMES.iter().any(|known| known.replace('-', "_").eq_ignore_ascii_case(job));
    if known {
        return None;
    }
    Some(unknown_job(&job.to_lowercase().replace('_', "-"), &Origin::Env(name.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
    }

    #[test]
    fn read_maps_nested_job_variable() {
        let env = env(&[("INVGUARD_JOBS__FULL_CHECK__SCHEDULE", "0 5 1 * *")]);
        let layer = read(&env, &mut Vec::new()).unwrap();
        assert_eq!(
            layer.variable("jobs.full-check.schedule"),
            Some("INVGUARD_JOBS__FULL_CHECK__SCHEDULE")
        );
    }

    #[test]
    fn read_ignores_unrelated_variables() {
        let env = env(&[("PATH", "/usr/bin"), ("HOME", "/root"), ("INVGUARD_CONFIG", "/x.toml")]);
        let layer = read(&env, &mut Vec::new()).unwrap();
        assert!(layer.to_map().is_empty());
    }

    #[test]
    fn read_splits_list_variables() {
        let env = env(&[("INVGUARD_ENCRYPTION__RECIPIENTS", "/k/a.asc, /k/b.asc,")]);
        let layer = read(&env, &mut Vec::new()).unwrap();
        let list = layer.to_map()["encryption.recipients"].clone().into_array().unwrap();
        assert_eq!(list.len(), 2);
    }

    #[test]
    fn read_unknown_job_variable_names_job() {
        let env = env(&[("INVGUARD_JOBS__NIGHTLY__SCHEDULE", "0 1 * * *")]);
        let error = read(&env, &mut Vec::new()).unwrap_err();
        assert!(
            matches!(&error, ConfigError::UnknownJob { name, .. } if name == "nightly"),
            "{error}"
        );
    }

    #[test]
    fn unknown_variable_suggestions() {
        let cases = [
            ("INVGUARD_RETENTION__KEEPLAST", Some("INVGUARD_RETENTION__KEEP_LAST")),
            ("INVGUARD_RETENTION_KEEP_LAST", Some("INVGUARD_RETENTION__KEEP_LAST")),
            ("INVGUARD_TIMEZON", Some("INVGUARD_TIMEZONE")),
            ("INVGUARD_BACKUP__COLOUR", None),
            ("INVGUARD_BOGUS", None),
            ("INVGUARD_LOG", None),
            ("INVGUARD_BACKUP__DRI", Some("INVGUARD_BACKUP__DIR")),
        ];
        for (name, expected) in cases {
            let error = unknown_variable(name);
            let ConfigError::UnknownVariable { suggestion, .. } = error else { panic!("{error}") };
            assert_eq!(suggestion.as_deref(), expected, "{name}");
        }
    }

    #[test]
    fn read_empty_variable_is_ignored_with_warning() {
        let env = env(&[("GPG_PASSPHRASE", "")]);
        let mut warnings = Vec::new();
        let layer = read(&env, &mut warnings).unwrap();
        assert!(layer.to_map().is_empty());
        assert_eq!(warnings, ["GPG_PASSPHRASE is set but empty: it is ignored"]);
    }
}
