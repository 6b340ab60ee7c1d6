//! Integration tests of configuration loading: layering, variables of the original service,
//! secrets, error messages, rendering, the key registry and round trips.

#[path = "config/errors.rs"]
mod errors;
#[path = "config/layering.rs"]
mod layering;
#[path = "config/legacy.rs"]
mod legacy;
#[path = "config/registry.rs"]
mod registry;
#[path = "config/render.rs"]
mod render;
#[path = "config/roundtrip.rs"]
mod roundtrip;
#[path = "config/secrets.rs"]
mod secrets;

use std::collections::HashMap;
use std::error::Error;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use invguard_config::{Config, ConfigError, LoadOptions, Loaded};
use tempfile::TempDir;

/// A temporary directory for configuration and secret files.
#[derive(Debug)]
struct Fixture {
    dir: TempDir,
}

impl Fixture {
    fn new() -> Self {
        Fixture { dir: tempfile::tempdir().unwrap() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file with mode 0600 and returns its path.
    fn write(&self, name: &str, text: &str) -> PathBuf {
        self.write_with_mode(name, text, 0o600)
    }

    fn write_with_mode(&self, name: &str, text: &str, mode: u32) -> PathBuf {
        let path = self.path(name);
        fs_err::write(&path, text).unwrap();
        fs_err::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    /// Replaces the temporary directory in `text` with `[TMP]`, for snapshots.
    fn redact(&self, text: &str) -> String {
        text.replace(&self.dir.path().display().to_string(), "[TMP]")
    }
}

/// Builds an environment from pairs; `TZ=UTC` is added unless the pairs set a time zone, so no
/// test depends on the zone of the machine.
fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    let mut env: HashMap<String, String> =
        pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
    if !env.contains_key("INVGUARD_TIMEZONE") {
        env.entry("TZ".to_owned()).or_insert_with(|| "UTC".to_owned());
    }
    env
}

/// Loads from an optional file and an environment built by [`env`].
fn load(file: Option<&Path>, pairs: &[(&str, &str)]) -> Result<Loaded, ConfigError> {
    Config::load(&LoadOptions { file: file.map(Path::to_owned), env: Some(env(pairs)) })
}

/// Runs `assertions` with insta storing snapshots in `tests/snapshots`.
fn with_snapshots(assertions: impl FnOnce()) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.bind(assertions);
}

/// Formats an error with its chain of sources, the way the binaries print it.
fn error_chain(error: &dyn Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
